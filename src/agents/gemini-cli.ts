// Adapter `gemini-cli` (v1: `gemini`): Google's Gemini CLI run headless with `--output-format stream-json`,
// and the parser for that stream (`init`, `message`, `tool_use`, `tool_result`, `error`, `result`).
import type { AgentErrorKind, AgentEvent, Usage } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentOutputParser, AgentRunInput } from './adapter.js';
import { isObject, parseObject, tokenCount, type Json } from './api-worker/json.js';
import { errorKindForStatus } from './claude-stream-parser.js';
import { cliExecutable, extraArgs, isConnectionFailureText, modelOf, positiveIntegerOption, refuseOwnedFlags, statusInErrorText } from './cli-common.js';
import { CLI_PINS } from './cli-pins.js';
import { clipText, MAX_MESSAGE_CHARS, MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

/** Flags kage sets itself: the parser reads stream-json, and the prompt goes in exactly once. */
const OWNED_FLAGS = ['-o', '--output-format', '-p', '--prompt', '-i', '--prompt-interactive'];

/**
 * `~/.gemini/settings.json` in the clone's private HOME. The auth type must be pinned: with only
 * GOOGLE_GEMINI_BASE_URL set, 0.61 infers auth type `gateway`, rejects it and exits 41. One attempt per
 * request (the default is 10, minutes on a 5xx) leaves retrying to kage's own timeout and retry policy.
 */
export function geminiSettings(maxTurns: number | null): Json {
  return {
    security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: 1 },
    ...(maxTurns === null ? {} : { model: { maxSessionTurns: maxTurns } }),
  };
}

export function buildGeminiCommand(input: AgentRunInput): AgentCommand {
  const args = refuseOwnedFlags(extraArgs(input.options.args), OWNED_FLAGS, 'kage passes the prompt and reads the stream-json output');
  const rawMaxTurns = input.options.maxTurns;
  const maxTurns = rawMaxTurns === undefined || rawMaxTurns === null ? null : Number(positiveIntegerOption('maxTurns', rawMaxTurns));
  const model = modelOf(input);
  const argv = [cliExecutable(input, CLI_PINS['gemini-cli']), '--output-format', 'stream-json', '--yolo', '--skip-trust'];
  if (model !== null) argv.push(`--model=${model}`);
  if (input.resumeSessionId !== null) argv.push(`--resume=${input.resumeSessionId}`);
  // `-p <prompt>` fails when the prompt starts with `-` (yargs: "Not enough arguments following: p");
  // the `=` form keeps any prompt one value.
  argv.push(...args, `--prompt=${input.prompt}`);

  const { baseUrl, apiKey } = input.providers.gemini;
  const env: Record<string, string> = {};
  if (baseUrl !== null) env.GOOGLE_GEMINI_BASE_URL = baseUrl;
  if (apiKey !== null) env.GEMINI_API_KEY = apiKey;
  return {
    argv,
    env,
    stdin: { kind: 'ignore' },
    homeFiles: [{ path: '.gemini/settings.json', content: `${JSON.stringify(geminiSettings(maxTurns), null, 2)}\n` }],
  };
}

/** stderr lines of Gemini's auth check, which exits 41 before printing any event. */
const AUTH_FAILURES = [
  'When using Gemini API, you must specify the GEMINI_API_KEY',
  'When using Vertex AI, you must specify',
  'Invalid auth method selected.',
];

export function createGeminiStreamParser(): AgentOutputParser {
  let sessionSeen = false;
  /** Assistant text arrives in `delta` chunks; they become one message when something else happens. */
  let pendingText = '';
  let lastText = '';
  let lastErrorText = '';

  function flushText(): AgentEvent[] {
    if (pendingText.trim() === '') {
      pendingText = '';
      return [];
    }
    lastText = clipText(pendingText, MAX_MESSAGE_CHARS);
    pendingText = '';
    return [{ kind: 'message', text: lastText }];
  }

  function recordEvents(record: Json): AgentEvent[] {
    switch (record.type) {
      case 'init': {
        const sessionId = stringOr(record.session_id, '');
        if (sessionId === '' || sessionSeen) return [];
        sessionSeen = true;
        const model = stringOr(record.model, '');
        return [model === '' ? { kind: 'session', sessionId } : { kind: 'session', sessionId, model }];
      }
      case 'message':
        // The `user` message echoes the prompt.
        if (record.role === 'assistant') pendingText += stringOr(record.content, '');
        return [];
      case 'tool_use':
        return [...flushText(), { kind: 'tool_use', id: stringOr(record.tool_id, ''), name: stringOr(record.tool_name, 'unknown'), input: record.parameters ?? null }];
      case 'tool_result':
        return [...flushText(), toolResult(record)];
      case 'error': {
        // Warnings and recoverable errors: the `result` line that follows decides the run.
        const message = stringOr(record.message, '').trim();
        if (message === '') return flushText();
        lastErrorText = message;
        return [...flushText(), { kind: 'error', message, status: apiErrorStatus(message), errorKind: 'unknown' }];
      }
      case 'result':
        return [...flushText(), ...resultEvents(record)];
      default:
        return [];
    }
  }

  function resultEvents(record: Json): AgentEvent[] {
    const events: AgentEvent[] = [];
    const usage = statsUsage(record.stats);
    if (usage !== null) events.push({ kind: 'usage', usage, costUsd: null, cumulative: true });
    const durationMs = isObject(record.stats) && typeof record.stats.duration_ms === 'number' ? record.stats.duration_ms : null;
    if (record.status === 'success') {
      events.push({ kind: 'result', ok: true, text: lastText, numTurns: null, durationMs });
      return events;
    }
    const error = isObject(record.error) ? record.error : {};
    const reported = stringOr(error.message, '').trim();
    // An invalid model stream ends with an `error` line, then a result without one: not reported twice.
    const message = reported || lastErrorText || `Gemini CLI reported status ${showStatus(record.status)}`;
    const status = apiErrorStatus(message);
    if (reported !== '' || lastErrorText === '') {
      events.push({ kind: 'error', message, status, errorKind: resultErrorKind(stringOr(error.type, ''), status, message) });
    }
    events.push({ kind: 'result', ok: false, text: clipText(message, MAX_MESSAGE_CHARS), numTurns: null, durationMs });
    return events;
  }

  return {
    line(text, stream) {
      if (stream === 'stderr') {
        const line = text.trim();
        if (!AUTH_FAILURES.some((start) => line.startsWith(start))) return [];
        return [{ kind: 'error', message: line, status: null, errorKind: 'auth' }];
      }
      // `-o json` would print one pretty-printed object over many lines; kage always asks for stream-json,
      // so lines that are not a whole object are skipped.
      const record = text.trimStart().startsWith('{') ? parseObject(text) : null;
      return record === null ? [] : recordEvents(record);
    },
    end() {
      // Without a `result` line the run crashed or was killed; the supervisor judges it by its exit status.
      return flushText();
    },
  };
}

function toolResult(record: Json): AgentEvent {
  const isError = record.status === 'error';
  const error = isObject(record.error) ? stringOr(record.error.message, '') : '';
  const output = stringOr(record.output, '') || (isError ? error : '');
  return { kind: 'tool_result', id: stringOr(record.tool_id, ''), output: clipText(output, MAX_TOOL_OUTPUT_CHARS), isError };
}

/**
 * `result.stats` holds the run's totals over every model it called, the `auto` router's classifier call
 * included (it is spent and billed like any other). `input_tokens` is the whole prompt and `input` the part
 * not read from the cache, which is kage's `inputTokens`. Thinking tokens are not in these stats.
 */
function statsUsage(stats: unknown): Usage | null {
  if (!isObject(stats)) return null;
  const cached = tokenCount(stats.cached);
  const fresh = typeof stats.input === 'number' ? tokenCount(stats.input) : Math.max(0, tokenCount(stats.input_tokens) - cached);
  return { inputTokens: fresh, outputTokens: tokenCount(stats.output_tokens), cacheReadTokens: cached, cacheWriteTokens: 0 };
}

/** `error.type` is the name of the error the CLI died of; API errors come as `unknown`. */
function resultErrorKind(type: string, status: number | null, message: string): AgentErrorKind {
  if (type === 'FatalAuthenticationError') return 'auth';
  if (type === 'FatalTurnLimitedError') return 'budget';
  if (status !== null) return errorKindForStatus(status);
  // "fetch failed sending request": Node's fetch does not say whether it was refused, reset or not resolved.
  if (isConnectionFailureText(message)) return 'network';
  return 'unknown';
}

/** Google RPC status names, as Gemini error bodies carry them, and their HTTP statuses. */
const RPC_STATUS: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  DATA_LOSS: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** What the CLI appends to a 429's message (gemini-api-key auth). */
const RATE_LIMIT_HINT = 'Please wait and try again later.';

/**
 * The HTTP status in a Gemini error message, else null. The CLI's exit code is the status mod 256, so the
 * message is the only place it survives: `[API Error: {"error":{"code":400,"status":"INVALID_ARGUMENT",…}}]`
 * (the response body, or `{error:{message,code,status}}` built by the SDK for a non-JSON one), or
 * `[API Error: <message> (Status: RESOURCE_EXHAUSTED)]`, or a 429's text followed by the CLI's quota hint.
 */
export function apiErrorStatus(message: string): number | null {
  const start = message.indexOf('{');
  const end = message.lastIndexOf('}');
  const body = start !== -1 && end > start ? parseObject(message.slice(start, end + 1)) : null;
  if (body !== null) {
    const error = isObject(body.error) ? body.error : body;
    const status = httpStatus(error.code) ?? httpStatus(error.status) ?? rpcStatus(error.status);
    if (status !== null) return status;
  }
  const named = /\(Status: ([A-Z_]+)\)/.exec(message)?.[1];
  if (named !== undefined) return rpcStatus(named);
  return message.includes(RATE_LIMIT_HINT) ? 429 : statusInErrorText(message);
}

function httpStatus(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : null;
}

function rpcStatus(value: unknown): number | null {
  return typeof value === 'string' ? (RPC_STATUS[value] ?? null) : null;
}

function showStatus(value: unknown): string {
  return typeof value === 'string' && value !== '' ? `"${value}"` : 'unknown';
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

export const geminiCliAdapter: AgentAdapter = Object.freeze({
  id: 'gemini-cli',
  aliases: Object.freeze(['gemini']),
  description:
    "Google's Gemini CLI, headless (`gemini --prompt=… -o stream-json --yolo`), with GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY from providers.gemini; options.maxTurns caps its turns",
  supportsResume: true,
  provider: 'gemini',
  cli: CLI_PINS['gemini-cli'],
  buildCommand: buildGeminiCommand,
  createParser: createGeminiStreamParser,
});
