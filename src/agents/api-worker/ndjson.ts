// Splits a streamed HTTP body into lines (Ollama streams NDJSON), with a cap so a runaway line cannot
// exhaust memory.
export const MAX_STREAM_LINE_CHARS = 16 * 1024 * 1024;

export async function* streamLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== '') yield line;
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_STREAM_LINE_CHARS) throw new Error(`a streamed line exceeded ${MAX_STREAM_LINE_CHARS} characters`);
  }
  const last = (pending + decoder.decode()).trim();
  if (last !== '') yield last;
}
