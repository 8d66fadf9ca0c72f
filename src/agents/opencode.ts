// Adapter `opencode`: OpenCode's `opencode run --format json`, and the parser for its event lines
// (`step_start`, `text`, `tool_use`, `step_finish`, `error`). OpenCode prints no final event, so the parser
// makes the `result` itself when the output ends.
import { KageError, showValue, type AgentErrorKind, type AgentEvent } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentOutputParser, AgentRunInput, ProviderEndpoint } from './adapter.js';
import { isObject, parseObject, tokenCount, type Json } from './api-worker/json.js';
import { errorKindForStatus } from './claude-stream-parser.js';
import { cliExecutable, extraArgs, modelOf, positiveIntegerOption, refuseOwnedFlags } from './cli-common.js';
import { CLI_PINS } from './cli-pins.js';
import { clipText, MAX_MESSAGE_CHARS, MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

export type OpenCodeProvider = 'openai' | 'anthropic';
const PROVIDERS: readonly OpenCodeProvider[] = ['openai', 'anthropic'];

/** The provider kage defines in OpenCode's config when an endpoint is configured. */
export const KAGE_PROVIDER_ID = 'kage';

/** Model asked of a configured endpoint when the clone names none (OpenCode needs one for its provider). */
export const OPENCODE_DEFAULT_MODELS: Readonly<Record<OpenCodeProvider, string>> = Object.freeze({
  openai: 'gpt-5.5',
  anthropic: 'claude-opus-5-5',
});

/** Context window and answer cap of kage's model entry; OpenCode sends the output limit as `max_tokens`. */
export const OPENCODE_DEFAULT_LIMITS = Object.freeze({ contextTokens: 200_000, maxTokens: 8_192 });

/** Turns off the models catalogue fetch, self-update, LSP downloads, sharing and the plugins OpenCode loads by default. */
export const OPENCODE_QUIET_ENV: Readonly<Record<string, string>> = Object.freeze({
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  OPENCODE_DISABLE_SHARE: '1',
  OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
  OPENCODE_DISABLE_CLAUDE_CODE: '1',
});

/**
 * `options.offline`: OpenCode asks the npm registry about plugins even with the flags above. That is
 * harmless but slow without a network; a dead local port makes it fail at once, and the run still works.
 */
const DEAD_REGISTRY = 'http://127.0.0.1:9/';

/** Skips the title-generation request: its tokens are never reported, so it would be spent unseen. */
const SESSION_TITLE = 'kage';

export function buildOpenCodeCommand(input: AgentRunInput): AgentCommand {
  const args = refuseOwnedFlags(extraArgs(input.options.args), ['--format'], 'kage reads the json event output');
  const provider = providerOption(input.options.provider);
  const offline = booleanOption('offline', input.options.offline);
  // Like the other CLIs' yolo modes: `run` rejects every permission request (bash, ...) unless told to approve.
  const autoApprove = input.options.autoApprove === undefined ? true : booleanOption('autoApprove', input.options.autoApprove);
  const limits = {
    context: integerOr(input.options, 'contextTokens', OPENCODE_DEFAULT_LIMITS.contextTokens),
    output: integerOr(input.options, 'maxTokens', OPENCODE_DEFAULT_LIMITS.maxTokens),
  };
  const setup = providerSetup(provider, input.providers[provider], modelOf(input), limits);

  const argv = [cliExecutable(input, CLI_PINS.opencode), 'run', '--format', 'json', '--title', SESSION_TITLE];
  if (setup.model !== null) argv.push(`--model=${setup.model}`);
  if (input.resumeSessionId !== null) argv.push(`--session=${input.resumeSessionId}`);
  if (autoApprove) argv.push('--auto');
  argv.push(...args);
  return {
    argv,
    env: offline ? { ...OPENCODE_QUIET_ENV, NPM_CONFIG_REGISTRY: DEAD_REGISTRY } : { ...OPENCODE_QUIET_ENV },
    // The prompt goes on stdin, not argv: `run` wraps every message argument that contains a space in
    // double quotes (escaping the quotes inside) before sending it, while stdin text reaches the model
    // exactly. Closing stdin also matters: OpenCode sends nothing until its stdin ends.
    stdin: { kind: 'text', text: input.prompt },
    homeFiles: setup.config === null ? [] : [{ path: '.config/opencode/opencode.json', content: `${JSON.stringify(setup.config, null, 2)}\n` }],
  };
}

interface ProviderSetup {
  /** `provider/model` for `--model`; null lets OpenCode choose. */
  model: string | null;
  /** OpenCode's global config (it holds the key, so it goes in a 0600 file, not the environment); null: none. */
  config: Json | null;
}

/**
 * A configured base URL becomes provider `kage` (OpenAI chat completions, or Anthropic messages), with the
 * model as its one entry. A key alone goes to OpenCode's built-in provider of that name. Nothing configured
 * leaves OpenCode's own providers and login; a bare model name is then taken as one of the provider's.
 */
function providerSetup(provider: OpenCodeProvider, endpoint: ProviderEndpoint, model: string | null, limit: { context: number; output: number }): ProviderSetup {
  const key = endpoint.apiKey === null ? {} : { apiKey: endpoint.apiKey };
  if (endpoint.baseUrl !== null) {
    const name = model ?? OPENCODE_DEFAULT_MODELS[provider];
    // ANTHROPIC_BASE_URL has no `/v1`; the AI SDK's Anthropic provider wants it.
    const baseURL = provider === 'anthropic' ? `${endpoint.baseUrl.replace(/\/+$/, '')}/v1` : endpoint.baseUrl;
    const entry = {
      npm: provider === 'anthropic' ? '@ai-sdk/anthropic' : '@ai-sdk/openai-compatible',
      name: 'kage',
      options: { baseURL, ...key },
      models: { [name]: { name, tool_call: true, limit } },
    };
    const qualified = `${KAGE_PROVIDER_ID}/${name}`;
    return { model: qualified, config: { model: qualified, provider: { [KAGE_PROVIDER_ID]: entry } } };
  }
  const qualified = model === null ? null : model.includes('/') ? model : `${provider}/${model}`;
  return { model: qualified, config: endpoint.apiKey === null ? null : { provider: { [provider]: { options: key } } } };
}

function providerOption(value: unknown): OpenCodeProvider {
  if (value === undefined || value === null) return 'openai';
  if (PROVIDERS.includes(value as OpenCodeProvider)) return value as OpenCodeProvider;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.provider\` to be one of ${PROVIDERS.join(', ')}; got ${showValue(value)}`, {
    field: 'options.provider',
  });
}

function booleanOption(key: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.${key}\` to be true or false; got ${showValue(value)}`, { field: `options.${key}` });
}

function integerOr(options: Record<string, unknown>, key: string, fallback: number): number {
  const value = options[key];
  return value === undefined || value === null ? fallback : Number(positiveIntegerOption(key, value));
}

export function createOpenCodeParser(): AgentOutputParser {
  let sessionSeen = false;
  let steps = 0;
  let stopSeen = false;
  let lastReason = '';
  let lastText = '';
  let lastError: string | null = null;

  function recordEvents(record: Json): AgentEvent[] {
    const part = isObject(record.part) ? record.part : {};
    switch (record.type) {
      case 'text': {
        const text = stringOr(part.text, '');
        if (text.trim() === '') return [];
        lastText = clipText(text, MAX_MESSAGE_CHARS);
        return [{ kind: 'message', text: lastText }];
      }
      case 'tool_use':
        return toolEvents(part);
      case 'step_finish': {
        steps += 1;
        lastReason = stringOr(part.reason, '');
        if (lastReason === 'stop') stopSeen = true;
        return [stepUsage(part)];
      }
      case 'error': {
        const event = errorEvent(isObject(record.error) ? record.error : {});
        lastError = event.message;
        return [event];
      }
      default:
        return [];
    }
  }

  return {
    line(text, stream) {
      // stderr has only logs (with --print-logs); every outcome is on stdout.
      if (stream !== 'stdout' || !text.trimStart().startsWith('{')) return [];
      const record = parseObject(text);
      if (record === null) return [];
      const sessionId = stringOr(record.sessionID, '');
      const session: AgentEvent[] = sessionId === '' || sessionSeen ? [] : [{ kind: 'session', sessionId }];
      if (session.length > 0) sessionSeen = true;
      return [...session, ...recordEvents(record)];
    },
    end() {
      // A run that answered ends with a `stop` step; an API error, a cap on the answer (`length`) or a
      // kill ends without one. With no step at all the text stays empty, so the failure quotes stderr
      // ("Session not found", a config error).
      const ok = stopSeen && lastError === null;
      const unfinished = steps === 0 ? '' : `OpenCode ended without a final answer (its last step ended with "${lastReason}")`;
      return [{ kind: 'result', ok, text: ok ? lastText : (lastError ?? unfinished), numTurns: steps, durationMs: null }];
    },
  };
}

/** A tool part is printed once, when it completed or failed: it carries both the call and its result. */
function toolEvents(part: Json): AgentEvent[] {
  const state = isObject(part.state) ? part.state : {};
  const id = stringOr(part.callID, '');
  const isError = state.status === 'error';
  const output = isError ? stringOr(state.error, '') : stringOr(state.output, '');
  return [
    { kind: 'tool_use', id, name: stringOr(part.tool, 'unknown'), input: state.input ?? null },
    { kind: 'tool_result', id, output: clipText(output, MAX_TOOL_OUTPUT_CHARS), isError },
  ];
}

/**
 * One model request's tokens. `input` excludes the tokens read from or written to the cache, and `output`
 * excludes `reasoning`, which is billed as output and counted as such here. `cost` is 0 for models without
 * prices in OpenCode's catalogue, such as kage's own provider.
 */
function stepUsage(part: Json): AgentEvent {
  const tokens = isObject(part.tokens) ? part.tokens : {};
  const cache = isObject(tokens.cache) ? tokens.cache : {};
  return {
    kind: 'usage',
    usage: {
      inputTokens: tokenCount(tokens.input),
      outputTokens: tokenCount(tokens.output) + tokenCount(tokens.reasoning),
      cacheReadTokens: tokenCount(cache.read),
      cacheWriteTokens: tokenCount(cache.write),
    },
    costUsd: typeof part.cost === 'number' && Number.isFinite(part.cost) ? part.cost : null,
    cumulative: false,
  };
}

/** `{name, data:{message, statusCode?, isRetryable?, …}}`, OpenCode's NamedError shape. */
function errorEvent(error: Json): Extract<AgentEvent, { kind: 'error' }> {
  const name = stringOr(error.name, 'UnknownError');
  const data = isObject(error.data) ? error.data : {};
  const detail = stringOr(data.message, '').trim() || name;
  const status = typeof data.statusCode === 'number' && Number.isInteger(data.statusCode) && data.statusCode >= 100 && data.statusCode <= 599
    ? data.statusCode
    : null;
  const message = status === null ? detail : `API error ${status}: ${detail}`;
  return { kind: 'error', message, status, errorKind: errorKindOf(name, status, detail, data.isRetryable === true) };
}

function errorKindOf(name: string, status: number | null, detail: string, retryable: boolean): AgentErrorKind {
  if (name === 'ProviderAuthError') return 'auth';
  if (name !== 'APIError') return 'unknown';
  if (status !== null) return errorKindForStatus(status);
  // No HTTP answer. Bun's fetch says "Unable to connect" when nothing listens at the address (OpenCode
  // has by then retried for about a minute).
  if (detail.includes('Unable to connect')) return 'unreachable';
  return retryable ? 'network' : 'unknown';
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

export const openCodeAdapter: AgentAdapter = Object.freeze({
  id: 'opencode',
  aliases: Object.freeze([]),
  description:
    'OpenCode (`opencode run --format json`, prompt on stdin), against providers.openai as an OpenAI-compatible provider, or providers.anthropic with options.provider "anthropic"; options.offline stops its npm lookups',
  supportsResume: true,
  provider: 'openai',
  cli: CLI_PINS.opencode,
  buildCommand: buildOpenCodeCommand,
  createParser: createOpenCodeParser,
});
