// The HTTP side every provider shares: one streaming POST bounded by the request timeout, and an error
// answer turned into a ProviderError carrying the status, its error kind and the API's own message.
import { errorKindForStatus } from '../claude-stream-parser.js';
import { unreachable } from './connect.js';
import { isObject, parseObject, type Json } from './json.js';
import { ProviderError } from './provider.js';

const MAX_ERROR_BODY_CHARS = 2_000;

export interface StreamPost {
  /** Provider label for messages: `Anthropic returned HTTP 429: ...`. */
  label: string;
  url: string;
  headers: Record<string, string>;
  body: Json;
  timeoutMs: number;
}

/** POSTs the JSON body; resolves with the streamed body of a 2xx answer, throws a ProviderError for any other. */
export async function postForStream(post: StreamPost): Promise<ReadableStream<Uint8Array>> {
  const response = await fetch(post.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...post.headers },
    body: JSON.stringify(post.body),
    signal: AbortSignal.timeout(post.timeoutMs),
  });
  if (!response.ok || response.body === null) throw await httpError(post.label, response);
  return response.body;
}

export async function httpError(label: string, response: Response): Promise<ProviderError> {
  const status = response.status;
  // kage's gateway could not connect to the real endpoint: the same permanent failure as without the gateway.
  const upstream = response.headers.get('x-kage-upstream');
  if (status === 502 && response.headers.get('x-kage-gateway-error') === 'upstream-unreachable' && upstream !== null) {
    await response.body?.cancel().catch(() => undefined);
    return unreachable(label, upstream, `${response.headers.get('x-kage-upstream-error') || 'no connection'} (through kage's gateway)`);
  }
  const body = await response.text().catch(() => '');
  const detail = errorDetail(body) ?? body.trim().slice(0, MAX_ERROR_BODY_CHARS);
  const retryAfter = status === 429 ? response.headers.get('retry-after') : null;
  const hint = retryAfter === null ? '' : ` (Retry-After: ${retryAfter})`;
  return new ProviderError(`${label} returned HTTP ${status}: ${detail || response.statusText}${hint}`, errorKindForStatus(status), status);
}

/**
 * The message of an API's error body: `{"error":{"message"}}` (Anthropic, OpenAI), `{"error":"..."}`
 * (Ollama), `{"detail":"..."}` or `{"message":"..."}` (some OpenAI-compatible servers); null for others.
 */
export function errorDetail(body: string): string | null {
  const parsed = parseObject(body);
  if (parsed === null) return null;
  const error = parsed.error;
  const candidates = [isObject(error) ? error.message : error, parsed.detail, parsed.message];
  const found = candidates.find((value): value is string => typeof value === 'string' && value.trim() !== '');
  return found === undefined ? null : found.slice(0, MAX_ERROR_BODY_CHARS);
}
