// Adapter `codex`: OpenAI's Codex CLI run headless, `codex exec --json`, against a custom model provider
// (Responses API) written to the clone's `$CODEX_HOME/config.toml`; and the parser for its JSONL events
// (`thread.started`, `item.*`, `turn.completed`, `turn.failed`, `error`).
import { join } from 'node:path';
import { KageError, showValue, type AgentErrorKind, type AgentEvent, type Usage } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentOutputParser, AgentRunInput } from './adapter.js';
import { isObject, parseObject, tokenCount, type Json } from './api-worker/json.js';
import { errorKindForStatus } from './claude-stream-parser.js';
import { cliExecutable, extraArgs, isConnectionFailureText, modelOf, refuseOwnedFlags, statusInErrorText } from './cli-common.js';
import { CLI_PINS } from './cli-pins.js';
import { clipText, MAX_MESSAGE_CHARS, MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

/** `-s` values: `workspace-write` (the default) lets it edit the worktree; its sandbox works as root too. */
export const CODEX_SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;

/** Name of the variable the provider's `env_key` names; the key itself never goes into the config file. */
export const CODEX_KEY_VARIABLE = 'KAGE_CODEX_API_KEY';

/**
 * Flags kage sets itself or that would undo its config: the parser reads `--json`, the sandbox comes from
 * `options.sandbox`, and `--ignore-user-config` or `--oss` would drop the endpoint and the retry settings.
 */
const OWNED_FLAGS = ['--json', '-s', '--sandbox', '--ignore-user-config', '--oss', '--local-provider'];

/** The login file Codex reads under `$CODEX_HOME` (`codex login`), relative to HOME as kage sets CODEX_HOME. */
export const CODEX_LOGIN_FILE = '.codex/auth.json';

/**
 * `$CODEX_HOME/config.toml`. Codex ignores OPENAI_BASE_URL, so the endpoint is a custom provider. The key is
 * the variable `env_key` names (`key`), or the user's own `codex login` in `$CODEX_HOME/auth.json` for a
 * passthrough clone (`login`, `requires_openai_auth`); with neither it sends no key at all (a local server
 * needs none). No retries of its own (by default 30 requests over 26 s on a 500): kage's timeout and retry
 * policy decide. Plugins, apps, analytics and the update check otherwise reach github.com and chatgpt.com
 * even with a local endpoint.
 */
export function codexConfig(baseUrl: string, auth: boolean | 'login'): string {
  return [
    'model_provider = "kage"',
    'check_for_update_on_startup = false',
    '',
    '[model_providers.kage]',
    'name = "kage"',
    `base_url = ${tomlString(baseUrl)}`,
    ...(auth === true ? [`env_key = "${CODEX_KEY_VARIABLE}"`] : auth === 'login' ? ['requires_openai_auth = true'] : []),
    'wire_api = "responses"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
    '[features]',
    'plugins = false',
    'apps = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
  ].join('\n');
}

export function buildCodexCommand(input: AgentRunInput): AgentCommand {
  const args = refuseOwnedFlags(extraArgs(input.options.args), OWNED_FLAGS, 'kage sets the provider and sandbox (options.sandbox) and reads the --json output');
  const sandbox = sandboxMode(input.options.sandbox);
  const model = modelOf(input);
  // A worktree is a git repository, but the check also needs `git` on the agent's PATH; skipping it is harmless.
  const argv = [cliExecutable(input, CLI_PINS.codex), 'exec', '--json', '--skip-git-repo-check', '-s', sandbox];
  if (model !== null) argv.push('-m', model);
  argv.push(...args);
  // `exec resume` has no `-s` of its own; the options given to `exec` before it apply to the resumed session.
  if (input.resumeSessionId !== null) argv.push('resume', input.resumeSessionId);
  // `--` keeps a prompt that starts with `-`, or reads `resume`, the prompt.
  argv.push('--', input.prompt);

  const { baseUrl, apiKey } = input.providers.openai;
  const env: Record<string, string> = { CODEX_HOME: join(input.home, '.codex') };
  if (apiKey !== null) env[CODEX_KEY_VARIABLE] = apiKey;
  const auth = apiKey !== null ? true : input.logins?.includes(CODEX_LOGIN_FILE) ? 'login' : false;
  return {
    argv,
    env,
    stdin: { kind: 'ignore' },
    homeFiles: [{ path: '.codex/config.toml', content: codexConfig(baseUrl ?? 'https://api.openai.com/v1', auth) }],
  };
}

function sandboxMode(value: unknown): (typeof CODEX_SANDBOX_MODES)[number] {
  if (value === undefined || value === null) return 'workspace-write';
  const mode = CODEX_SANDBOX_MODES.find((m) => m === value);
  if (mode !== undefined) return mode;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.sandbox\` to be one of ${CODEX_SANDBOX_MODES.join(', ')}; got ${showValue(value)}`, {
    field: 'options.sandbox',
  });
}

/** A TOML basic string: quotes, backslashes and control characters escaped. */
function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function createCodexParser(): AgentOutputParser {
  let sessionSeen = false;
  let lastMessage = '';
  let lastErrorMessage = '';
  /** Tool items whose `tool_use` was emitted (at `item.started`, or late at `item.completed`). */
  const toolsStarted = new Set<string>();

  function itemEvents(item: Json, completed: boolean): AgentEvent[] {
    const id = stringOr(item.id, '');
    switch (item.type) {
      case 'agent_message': {
        const text = stringOr(item.text, '');
        if (!completed || text.trim() === '') return [];
        lastMessage = clipText(text, MAX_MESSAGE_CHARS);
        return [{ kind: 'message', text: lastMessage }];
      }
      case 'command_execution':
      case 'file_change':
      case 'mcp_tool_call':
      case 'web_search': {
        const events: AgentEvent[] = [];
        if (!toolsStarted.has(id)) {
          toolsStarted.add(id);
          events.push({ kind: 'tool_use', id, ...toolCall(item) });
        }
        if (completed) events.push({ kind: 'tool_result', id, ...toolOutcome(item) });
        return events;
      }
      case 'error': {
        // Warnings, not failures: with a model slug Codex has no metadata for, "Model metadata for `x` not
        // found" comes as an error item, and the turn goes on normally.
        const message = stringOr(item.message, '').trim();
        return completed && message !== '' ? [{ kind: 'error', message: clipText(message, MAX_MESSAGE_CHARS), status: null, errorKind: 'unknown' }] : [];
      }
      default:
        // `reasoning` and `todo_list` are the agent's notes to itself.
        return [];
    }
  }

  function errorEvent(rawMessage: string): AgentEvent[] {
    lastErrorMessage = rawMessage;
    const { message, status } = readErrorMessage(rawMessage);
    return [{ kind: 'error', message: clipText(message, MAX_MESSAGE_CHARS), status, errorKind: codexErrorKind(status, message) }];
  }

  function recordEvents(record: Json): AgentEvent[] {
    switch (record.type) {
      case 'thread.started': {
        const sessionId = stringOr(record.thread_id, '');
        if (sessionId === '' || sessionSeen) return [];
        sessionSeen = true;
        return [{ kind: 'session', sessionId }];
      }
      case 'item.started':
      case 'item.completed':
        return isObject(record.item) ? itemEvents(record.item, record.type === 'item.completed') : [];
      case 'error': {
        const message = stringOr(record.message, '').trim();
        return message === '' ? [] : errorEvent(message);
      }
      case 'turn.completed': {
        const usage = turnUsage(record.usage);
        const events: AgentEvent[] = usage === null ? [] : [{ kind: 'usage', usage, costUsd: null, cumulative: true }];
        return [...events, { kind: 'result', ok: true, text: lastMessage, numTurns: null, durationMs: null }];
      }
      case 'turn.failed': {
        const raw = isObject(record.error) ? stringOr(record.error.message, '').trim() : '';
        // Codex prints the turn's error as an `error` line first, then again here.
        const events = raw !== '' && raw !== lastErrorMessage ? errorEvent(raw) : [];
        const text = raw === '' ? 'Codex reported a failed turn' : readErrorMessage(raw).message;
        return [...events, { kind: 'result', ok: false, text: clipText(text, MAX_MESSAGE_CHARS), numTurns: null, durationMs: null }];
      }
      default:
        return [];
    }
  }

  return {
    line(text, stream) {
      // stderr has progress ("Reading additional input from stdin...") and warnings the stream repeats.
      if (stream !== 'stdout' || typeof text !== 'string' || !text.trimStart().startsWith('{')) return [];
      const record = parseObject(text);
      return record === null ? [] : recordEvents(record);
    },
    end() {
      // Without a `turn.*` line the run crashed or was killed; the supervisor judges it by its exit status.
      return [];
    },
  };
}

function toolCall(item: Json): { name: string; input: unknown } {
  switch (item.type) {
    case 'command_execution':
      return { name: 'command_execution', input: { command: stringOr(item.command, '') } };
    case 'file_change':
      return { name: 'file_change', input: { changes: Array.isArray(item.changes) ? item.changes : [] } };
    case 'mcp_tool_call':
      return { name: `${stringOr(item.server, 'mcp')}.${stringOr(item.tool, 'unknown')}`, input: item.arguments ?? null };
    default:
      return { name: 'web_search', input: { query: stringOr(item.query, '') } };
  }
}

function toolOutcome(item: Json): { output: string; isError: boolean } {
  const failed = item.status === 'failed' || item.status === 'declined';
  switch (item.type) {
    case 'command_execution': {
      const exitCode = typeof item.exit_code === 'number' ? item.exit_code : null;
      return { output: clipText(stringOr(item.aggregated_output, ''), MAX_TOOL_OUTPUT_CHARS), isError: failed || (exitCode !== null && exitCode !== 0) };
    }
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.filter(isObject) : [];
      const output = changes.map((change) => `${stringOr(change.kind, 'change')} ${stringOr(change.path, '')}`).join('\n');
      return { output: clipText(output, MAX_TOOL_OUTPUT_CHARS), isError: failed };
    }
    case 'mcp_tool_call': {
      const error = isObject(item.error) ? stringOr(item.error.message, '') : '';
      return { output: clipText(error || mcpResultText(item.result), MAX_TOOL_OUTPUT_CHARS), isError: failed || error !== '' };
    }
    default:
      return { output: '', isError: failed };
  }
}

/** An MCP result's `content` blocks, text as is and anything else by its type. */
function mcpResultText(result: unknown): string {
  if (!isObject(result) || !Array.isArray(result.content)) return '';
  return result.content
    .map((block) => (isObject(block) ? (block.type === 'text' ? stringOr(block.text, '') : `[${stringOr(block.type, 'block')}]`) : ''))
    .filter((part) => part !== '')
    .join('\n');
}

/**
 * `turn.completed.usage` holds the thread's totals: on `exec resume` it includes the earlier runs' tokens.
 * `input_tokens` is the whole prompt, cached part included (the Responses API's meaning); kage counts cache
 * reads apart from the input, as Anthropic reports them. Codex reports no cost.
 */
function turnUsage(value: unknown): Usage | null {
  if (!isObject(value)) return null;
  const cacheRead = tokenCount(value.cached_input_tokens);
  const cacheWrite = tokenCount(value.cache_write_input_tokens);
  return {
    inputTokens: Math.max(0, tokenCount(value.input_tokens) - cacheRead - cacheWrite),
    outputTokens: tokenCount(value.output_tokens),
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
  };
}

/**
 * The readable message and HTTP status of a Codex error line. A 400 comes as the response body itself
 * (`{"type":"error","error":{"message":…,"code":400}}`); other statuses as text (`unexpected status 401
 * Unauthorized: …`, `exceeded retry limit, last status: 429 …`). A 500 comes as "We're currently experiencing
 * high demand…", with no status at all.
 */
function readErrorMessage(raw: string): { message: string; status: number | null } {
  const body = raw.startsWith('{') ? parseObject(raw) : null;
  const error = body !== null && isObject(body.error) ? body.error : null;
  if (error === null) return { message: raw, status: statusInErrorText(raw) };
  const status = httpStatus(error.code) ?? httpStatus(error.status);
  const message = stringOr(error.message, '') || raw;
  return { message: status === null ? message : `API error ${status}: ${message}`, status };
}

/**
 * Codex's top-level `error` lines are the model API failing (tool failures are items): without a status they
 * are still API errors, which kage may retry, unless the request never got an answer.
 */
function codexErrorKind(status: number | null, message: string): AgentErrorKind {
  if (status !== null) return errorKindForStatus(status);
  return isConnectionFailureText(message) ? 'network' : 'api';
}

function httpStatus(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : null;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

export const codexAdapter: AgentAdapter = Object.freeze({
  id: 'codex',
  aliases: Object.freeze([]),
  description:
    "OpenAI's Codex CLI, headless (`codex exec --json -s workspace-write`), against providers.openai's endpoint and key as a custom Responses-API provider; options.sandbox picks the sandbox",
  supportsResume: true,
  provider: 'openai',
  cli: CLI_PINS.codex,
  loginFiles: Object.freeze([CODEX_LOGIN_FILE]),
  buildCommand: buildCodexCommand,
  createParser: createCodexParser,
});
