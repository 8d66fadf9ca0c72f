// Parses the API worker's lines (api-worker/records.ts) into AgentEvents. Usage lines are per request, so
// they become `cumulative: false` events the runner adds up.
import type { AgentErrorKind, AgentEvent } from '../domain/index.js';
import type { AgentOutputParser } from './adapter.js';
import { errorKindForStatus } from './claude-stream-parser.js';
import { clipText, MAX_MESSAGE_CHARS, MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

type Json = Record<string, unknown>;

const ERROR_KINDS: ReadonlySet<string> = new Set<AgentErrorKind>([
  'api', 'auth', 'rate_limit', 'overloaded', 'network', 'unreachable', 'budget', 'unknown',
]);

export function createApiWorkerParser(): AgentOutputParser {
  return {
    line(text, stream) {
      // stderr only repeats usage errors already in the stream, or a crash the exit status reports.
      if (stream !== 'stdout') return [];
      const record = parseRecord(text);
      return record === null ? [] : recordEvents(record);
    },
    end: () => [],
  };
}

function recordEvents(r: Json): AgentEvent[] {
  switch (r.type) {
    case 'session': {
      const sessionId = str(r.session_id);
      if (sessionId === '') return [];
      const model = str(r.model);
      return [model === '' ? { kind: 'session', sessionId } : { kind: 'session', sessionId, model }];
    }
    case 'message': {
      const text = str(r.text);
      return text.trim() === '' ? [] : [{ kind: 'message', text: clipText(text, MAX_MESSAGE_CHARS) }];
    }
    case 'tool_use':
      return [{ kind: 'tool_use', id: str(r.id), name: str(r.name) || 'unknown', input: r.input ?? null }];
    case 'tool_result':
      return [{ kind: 'tool_result', id: str(r.id), output: clipText(str(r.output), MAX_TOOL_OUTPUT_CHARS), isError: r.is_error === true }];
    case 'usage':
      return [{
        kind: 'usage',
        usage: {
          inputTokens: tokens(r.input_tokens),
          outputTokens: tokens(r.output_tokens),
          cacheReadTokens: tokens(r.cache_read_tokens),
          cacheWriteTokens: tokens(r.cache_write_tokens),
        },
        costUsd: null,
        cumulative: false,
      }];
    case 'error': {
      const status = statusOf(r.status);
      const kind = str(r.kind);
      const errorKind: AgentErrorKind = ERROR_KINDS.has(kind) ? (kind as AgentErrorKind) : status !== null ? errorKindForStatus(status) : 'unknown';
      return [{ kind: 'error', message: clipText(str(r.message) || 'API worker reported an error', MAX_MESSAGE_CHARS), status, errorKind }];
    }
    case 'result':
      return [{
        kind: 'result',
        ok: r.ok === true,
        text: clipText(str(r.text), MAX_MESSAGE_CHARS),
        numTurns: numberOrNull(r.num_turns),
        durationMs: numberOrNull(r.duration_ms),
      }];
    default:
      return [];
  }
}

function parseRecord(text: unknown): Json | null {
  if (typeof text !== 'string' || !text.trimStart().startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function tokens(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function statusOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : null;
}
