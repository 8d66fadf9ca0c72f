// Parses Claude Code's `--output-format stream-json --verbose` lines into AgentEvents. Also used by the
// fake agent, which speaks the same dialect so the real parser runs in tests, and by Qwen Code, whose
// `-o stream-json` copies it (with the differences in `resultEvents`).
import type { AgentErrorKind, AgentEvent, Usage } from '../domain/index.js';
import type { AgentOutputParser } from './adapter.js';
import { isConnectionFailureText, statusInErrorText } from './cli-common.js';
import { clipText, MAX_MESSAGE_CHARS, MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

type JsonObject = Record<string, unknown>;

/** Which CLI writes the stream: Claude Code (and the fake agent), or Qwen Code. */
export type ClaudeStreamDialect = 'claude' | 'qwen';

export function createClaudeStreamParser(dialect: ClaudeStreamDialect = 'claude'): AgentOutputParser {
  let sessionSeen = false;

  function sessionEvents(record: JsonObject): AgentEvent[] {
    const sessionId = stringOr(record.session_id, '');
    const isInit = record.type === 'system' && record.subtype === 'init';
    if (sessionId === '' || (sessionSeen && !isInit)) return [];
    sessionSeen = true;
    const model = isInit ? stringOr(record.model, '') : '';
    return [model === '' ? { kind: 'session', sessionId } : { kind: 'session', sessionId, model }];
  }

  return {
    line(text, stream) {
      // stderr carries progress and warnings ("no stdin data received"), nothing the stream lacks, except
      // that Qwen Code ends a run over its turn limit there, with no `result` line (and exit code 53).
      if (stream !== 'stdout') return dialect === 'qwen' ? qwenStderrEvents(text) : [];
      try {
        const record = parseRecord(text);
        if (record === null) return [];
        return [...sessionEvents(record), ...recordEvents(record, dialect)];
      } catch {
        return [];
      }
    },
    end() {
      // A run without a `result` line crashed or was killed; the supervisor judges it by exit status.
      return [];
    },
  };
}

function recordEvents(record: JsonObject, dialect: ClaudeStreamDialect): AgentEvent[] {
  switch (record.type) {
    case 'system':
      return record.subtype === 'api_retry' ? [retryError(record)] : [];
    case 'assistant':
      return contentBlocks(record.message).flatMap(assistantBlockEvents);
    case 'user':
      return contentBlocks(record.message).flatMap(userBlockEvents);
    case 'result':
      return resultEvents(record, dialect);
    default:
      return [];
  }
}

function assistantBlockEvents(block: JsonObject): AgentEvent[] {
  if (block.type === 'text') {
    const text = stringOr(block.text, '');
    return text.trim() === '' ? [] : [{ kind: 'message', text: clipText(text, MAX_MESSAGE_CHARS) }];
  }
  if (block.type === 'tool_use') {
    return [{ kind: 'tool_use', id: stringOr(block.id, ''), name: stringOr(block.name, 'unknown'), input: block.input ?? null }];
  }
  return [];
}

function userBlockEvents(block: JsonObject): AgentEvent[] {
  if (block.type !== 'tool_result') return [];
  return [
    {
      kind: 'tool_result',
      id: stringOr(block.tool_use_id, ''),
      output: clipText(toolOutputText(block.content), MAX_TOOL_OUTPUT_CHARS),
      isError: block.is_error === true,
    },
  ];
}

function retryError(record: JsonObject): AgentEvent {
  const status = statusOf(record.error_status);
  const reason = stringOr(record.error, '');
  const attempt = numberOr(record.attempt, null);
  const maxRetries = numberOr(record.max_retries, null);
  const delayMs = numberOr(record.retry_delay_ms, null);
  const parts = [
    status === null ? 'API request failed' : `API request failed with status ${status}`,
    reason === '' ? '' : ` (${reason})`,
    attempt === null ? '' : `; retry ${attempt}${maxRetries === null ? '' : ` of ${maxRetries}`}`,
    delayMs === null ? '' : ` in ${delayMs} ms`,
  ];
  // No status means the request never got an HTTP answer (connection refused, DNS, TLS).
  return { kind: 'error', message: parts.join(''), status, errorKind: status === null ? 'network' : errorKindForStatus(status) };
}

/**
 * The final `result` line carries the run's totals. Claude Code keeps `subtype: "success"` on API errors and
 * sets `is_error`, so failure is read from `is_error` (and from `error_*` subtypes such as max turns).
 *
 * Qwen Code's result differs. Its `input_tokens` include the cached ones. A failed result has no `result`
 * text but `error.message`, and the status is only text in it (`[API Error: 400 …]`). And in `-o
 * stream-json`, Qwen 0.15 does not fail the run on an API error at all: it prints the error as the
 * assistant's text, then a `success` result whose text is that error, and exits 0. Its formatter
 * (`parseAndFormatApiError`) starts every such text with `[API Error: `, which is what marks the run failed.
 */
function resultEvents(record: JsonObject, dialect: ClaudeStreamDialect): AgentEvent[] {
  const events: AgentEvent[] = [];
  const qwen = dialect === 'qwen';
  const usage = qwen ? promptIncludesCacheReads(usageOf(record.usage)) : usageOf(record.usage);
  const costUsd = numberOr(record.total_cost_usd, null);
  if (usage !== null || costUsd !== null) {
    events.push({ kind: 'usage', usage: usage ?? zeroUsage(), costUsd, cumulative: true });
  }
  const subtype = stringOr(record.subtype, '');
  const errorText = qwen && isObject(record.error) ? stringOr(record.error.message, '') : '';
  const text = clipText(stringOr(record.result, '') || errorText, MAX_MESSAGE_CHARS);
  const apiError = qwen && text.startsWith(QWEN_API_ERROR_PREFIX);
  const failed = record.is_error === true || subtype.startsWith('error') || apiError;
  if (failed) {
    const status = statusOf(record.api_error_status) ?? (qwen ? statusInErrorText(text) : null);
    const message = text !== '' ? text : `Agent reported an error (${subtype === '' ? 'no subtype' : subtype})`;
    events.push({ kind: 'error', message, status, errorKind: resultErrorKind(status, subtype, apiError, text) });
  }
  events.push({
    kind: 'result',
    ok: !failed,
    text,
    numTurns: numberOr(record.num_turns, null),
    durationMs: numberOr(record.duration_ms, null),
  });
  return events;
}

/** What Qwen Code prints on stderr when `--max-session-turns` runs out. */
const QWEN_TURN_LIMIT = 'Reached max session turns';

function qwenStderrEvents(text: unknown): AgentEvent[] {
  if (typeof text !== 'string' || !text.startsWith(QWEN_TURN_LIMIT)) return [];
  return [{ kind: 'error', message: clipText(text.trim(), MAX_MESSAGE_CHARS), status: null, errorKind: 'budget' }];
}

/** How Qwen Code's error formatter starts the text of every API failure. */
const QWEN_API_ERROR_PREFIX = '[API Error: ';

function resultErrorKind(status: number | null, subtype: string, apiError: boolean, text: string): AgentErrorKind {
  if (status !== null) return errorKindForStatus(status);
  if (subtype.includes('budget')) return 'budget';
  if (!apiError) return 'unknown';
  return isConnectionFailureText(text) ? 'network' : 'api';
}

export function errorKindForStatus(status: number): AgentErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limit';
  if (status === 529 || status === 503) return 'overloaded';
  return 'api';
}

function parseRecord(text: unknown): JsonObject | null {
  if (typeof text !== 'string') return null;
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function contentBlocks(message: unknown): JsonObject[] {
  if (!isObject(message) || !Array.isArray(message.content)) return [];
  return message.content.filter(isObject);
}

/** Tool output is a string, or a list of blocks (`text`, `image`, ...). */
function toolOutputText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (isObject(block) ? (block.type === 'text' ? stringOr(block.text, '') : `[${stringOr(block.type, 'block')}]`) : ''))
      .filter((part) => part !== '')
      .join('\n');
  }
  if (content === undefined || content === null) return '';
  return JSON.stringify(content) ?? '';
}

function usageOf(value: unknown): Usage | null {
  if (!isObject(value)) return null;
  return {
    inputTokens: tokenCount(value.input_tokens),
    outputTokens: tokenCount(value.output_tokens),
    cacheReadTokens: tokenCount(value.cache_read_input_tokens),
    cacheWriteTokens: tokenCount(value.cache_creation_input_tokens),
  };
}

/**
 * Qwen Code copies an OpenAI endpoint's `prompt_tokens`, which include the cached ones, into `input_tokens`;
 * kage counts cache reads apart from the input, as Anthropic reports them.
 */
function promptIncludesCacheReads(usage: Usage | null): Usage | null {
  return usage === null ? null : { ...usage, inputTokens: Math.max(0, usage.inputTokens - usage.cacheReadTokens) };
}

function zeroUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
}

function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function statusOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : null;
}

function numberOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
