import { describe, expect, it } from 'vitest';
import { streamSseEvents, type SseEvent } from './sse.js';

function body(chunks: readonly string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function events(chunks: readonly string[]): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for await (const event of streamSseEvents(body(chunks))) seen.push(event);
  return seen;
}

describe('streamSseEvents', () => {
  it('joins lines split across chunks and dispatches at each blank line', async () => {
    expect(await events(['event: message_st', 'art\ndata: {"a":', '1}\n', '\nda', 'ta: {"b":2}\n\n'])).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: 'message', data: '{"b":2}' },
    ]);
  });

  it('reads CRLF line ends, skips comments, joins data lines and strips one space after the colon', async () => {
    expect(await events([': keep-alive\r\n\r\nevent:ping\r\ndata:  two\r\ndata:three\r\nid: 7\r\n\r\n'])).toEqual([
      { event: 'ping', data: ' two\nthree' },
    ]);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    expect(await events(['data: {"done":true}\n\n', 'data: {"cut'])).toEqual([{ event: 'message', data: '{"done":true}' }]);
  });
});
