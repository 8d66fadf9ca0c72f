// Reading token usage out of each provider's answers, message by message (one SSE event, one NDJSON line,
// one JSON body or array element), normalized to kage's `Usage`: input WITHOUT the cached part. OpenAI and
// Gemini count cached tokens inside the prompt; Anthropic reports them beside it.
import type { GatewayProvider, Usage } from '../domain/index.js';

type Json = Record<string, unknown>;

export interface ExtractedUsage extends Usage {
  /** Whether any message carried usage at all. */
  found: boolean;
  /** The model the answer named (dated snapshot, `modelVersion`), when it did. */
  model: string | null;
  /** An error the answer carried (an error body, or an `error` event in a stream), when it did. */
  error: string | null;
}

export interface UsageReader {
  /** One parsed message of the answer; `event` is its SSE event name when it had one. */
  accept(message: Json, event: string | null): void;
  result(): ExtractedUsage;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The message of an error body or event in any of the providers' shapes. */
export function errorMessage(message: Json): string | null {
  if (typeof message.error === 'string') return message.error;
  if (isObject(message.error)) return text(message.error.message) ?? text(message.error.type) ?? 'error';
  if (isObject(message.response) && isObject(message.response.error)) return text(message.response.error.message) ?? 'error';
  if (message.type === 'error' || message.type === 'response.failed') return 'error';
  return null;
}

/** Shared state: each reader overwrites a count when a message reports it (later reports are cumulative). */
function readerState() {
  return { found: false, model: null as string | null, error: null as string | null, prompt: 0, cached: 0, cacheWrite: 0, output: 0 };
}

type State = ReturnType<typeof readerState>;

function result(state: State, cachedInsidePrompt: boolean): ExtractedUsage {
  const input = cachedInsidePrompt ? Math.max(0, state.prompt - state.cached) : state.prompt;
  return { found: state.found, model: state.model, error: state.error, inputTokens: input, outputTokens: state.output,
    cacheReadTokens: state.cached, cacheWriteTokens: state.cacheWrite };
}

/**
 * Anthropic Messages: `message_start` carries input and cache counts (and a placeholder output of 1), each
 * `message_delta` the cumulative output (recent API versions repeat the input counts there too); a
 * non-streamed answer is one `message` with all of them.
 */
function anthropicReader(): UsageReader {
  const s = readerState();
  const apply = (usage: unknown): void => {
    if (!isObject(usage)) return;
    s.found = true;
    s.prompt = count(usage.input_tokens) ?? s.prompt;
    s.output = count(usage.output_tokens) ?? s.output;
    s.cached = count(usage.cache_read_input_tokens) ?? s.cached;
    s.cacheWrite = count(usage.cache_creation_input_tokens) ?? s.cacheWrite;
  };
  return {
    accept(m) {
      s.error = errorMessage(m) ?? s.error;
      const message = m.type === 'message_start' && isObject(m.message) ? m.message : m.type === 'message' ? m : null;
      if (message !== null) {
        s.model = text(message.model) ?? s.model;
        apply(message.usage);
      }
      if (m.type === 'message_delta') apply(m.usage);
    },
    result: () => result(s, false),
  };
}

/**
 * OpenAI: Chat Completions put `usage` {prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens}
 * on the body or, streamed with `include_usage`, on one last chunk with no choices; the Responses API puts
 * `usage` {input_tokens, output_tokens, input_tokens_details.cached_tokens} on the response object, streamed
 * in `response.completed` (or `.incomplete` / `.failed`).
 */
function openAiReader(): UsageReader {
  const s = readerState();
  return {
    accept(m) {
      s.error = errorMessage(m) ?? s.error;
      const response = isObject(m.response) ? m.response : m.object === 'response' ? m : null;
      s.model = text((response ?? m).model) ?? s.model;
      const usage = (response ?? m).usage;
      if (!isObject(usage)) return;
      if (count(usage.prompt_tokens) !== null || count(usage.completion_tokens) !== null) {
        s.found = true;
        s.prompt = count(usage.prompt_tokens) ?? s.prompt;
        s.output = count(usage.completion_tokens) ?? s.output;
        s.cached = (isObject(usage.prompt_tokens_details) ? count(usage.prompt_tokens_details.cached_tokens) : null) ?? s.cached;
      } else if (count(usage.input_tokens) !== null || count(usage.output_tokens) !== null) {
        s.found = true;
        s.prompt = count(usage.input_tokens) ?? s.prompt;
        s.output = count(usage.output_tokens) ?? s.output;
        s.cached = (isObject(usage.input_tokens_details) ? count(usage.input_tokens_details.cached_tokens) : null) ?? s.cached;
      }
    },
    result: () => result(s, true),
  };
}

/**
 * Gemini: `usageMetadata` on the body, or on the last chunk of a stream (earlier chunks may carry partial
 * counts; the last wins). Thinking tokens are billed as output; tool-use prompt tokens as input.
 */
function geminiReader(): UsageReader {
  const s = readerState();
  return {
    accept(m) {
      s.error = errorMessage(m) ?? s.error;
      s.model = text(m.modelVersion) ?? s.model;
      const u = m.usageMetadata;
      if (!isObject(u)) return;
      s.found = true;
      s.prompt = (count(u.promptTokenCount) ?? 0) + (count(u.toolUsePromptTokenCount) ?? 0);
      s.output = (count(u.candidatesTokenCount) ?? 0) + (count(u.thoughtsTokenCount) ?? 0);
      s.cached = count(u.cachedContentTokenCount) ?? 0;
    },
    result: () => result(s, true),
  };
}

/** Ollama: the final `done: true` message (streamed or not) has `prompt_eval_count` and `eval_count`; no caching. */
function ollamaReader(): UsageReader {
  const s = readerState();
  return {
    accept(m) {
      s.error = errorMessage(m) ?? s.error;
      s.model = text(m.model) ?? s.model;
      if (m.done !== true) return;
      s.found = true;
      s.prompt = count(m.prompt_eval_count) ?? s.prompt;
      s.output = count(m.eval_count) ?? s.output;
    },
    result: () => result(s, false),
  };
}

const READERS: Record<GatewayProvider, () => UsageReader> = {
  anthropic: anthropicReader,
  openai: openAiReader,
  gemini: geminiReader,
  ollama: ollamaReader,
};

export function createUsageReader(provider: GatewayProvider): UsageReader {
  return READERS[provider]();
}
