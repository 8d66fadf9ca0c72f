// Server-sent events over a streamed HTTP body, shared by the Anthropic and OpenAI providers: `event:` and
// `data:` fields, comments skipped, an event dispatched at each blank line. An event the stream cut off
// before its blank line is dropped (as the SSE spec says), so a truncated JSON payload is never parsed.
import { streamRawLines } from './ndjson.js';

export interface SseEvent {
  /** The `event:` field; `message` when absent (OpenAI sends none). */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

export async function* streamSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  let event = '';
  let data: string[] = [];
  for await (const line of streamRawLines(body)) {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
}
