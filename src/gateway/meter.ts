// The usage meter of one answer: the bytes the client gets, framed by content type (SSE or JSON values),
// parsed message by message and read by the provider's usage reader, as they pass through.
import { StringDecoder } from 'node:string_decoder';
import type { GatewayProvider } from '../domain/index.js';
import { createJsonSplitter, createSseSplitter, type Splitter } from './framing.js';
import { createUsageReader, isObject, type ExtractedUsage } from './usage.js';

/** Past this a message is skipped rather than held (a non-streamed answer is one message). */
const MAX_MESSAGE_CHARS = 32 * 1024 * 1024;

export interface UsageMeter {
  /** Whether the answer is a stream (SSE or NDJSON). */
  readonly streamed: boolean;
  push(chunk: Buffer): void;
  end(): ExtractedUsage;
}

/** How an answer of this content type is framed; null for bodies no usage is read from (HTML, plain text). */
export function framingOf(contentType: string | undefined): 'sse' | 'json' | 'ndjson' | null {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/jsonlines') return 'ndjson';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  return null;
}

export function createUsageMeter(provider: GatewayProvider, contentType: string | undefined): UsageMeter {
  const reader = createUsageReader(provider);
  const framing = framingOf(contentType);
  const parse = (text: string, event: string | null): void => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return; // `[DONE]`, keep-alives, or a message cut short
    }
    if (isObject(value)) reader.accept(value, event);
  };
  let splitter: Splitter | null = null;
  if (framing === 'sse') splitter = createSseSplitter((m) => parse(m.data, m.event), MAX_MESSAGE_CHARS);
  else if (framing !== null) splitter = createJsonSplitter((text) => parse(text, null), MAX_MESSAGE_CHARS);
  const decoder = new StringDecoder('utf8');
  return {
    streamed: framing === 'sse' || framing === 'ndjson',
    push(chunk) {
      splitter?.push(decoder.write(chunk));
    },
    end() {
      splitter?.push(decoder.end());
      splitter?.end();
      return reader.result();
    },
  };
}
