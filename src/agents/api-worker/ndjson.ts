// Splits a streamed HTTP body into lines (Ollama streams NDJSON, the SSE APIs lines of `field: value`), with
// a cap so a runaway line cannot exhaust memory.
export const MAX_STREAM_LINE_CHARS = 16 * 1024 * 1024;

/** Every line of the body without its `\n` or `\r\n`, blank ones included (SSE ends an event with one). */
export async function* streamRawLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      yield pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_STREAM_LINE_CHARS) throw new Error(`a streamed line exceeded ${MAX_STREAM_LINE_CHARS} characters`);
  }
  const last = pending + decoder.decode();
  if (last !== '') yield last.replace(/\r$/, '');
}

/** The non-blank lines of the body, trimmed. */
export async function* streamLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const raw of streamRawLines(body)) {
    const line = raw.trim();
    if (line !== '') yield line;
  }
}
