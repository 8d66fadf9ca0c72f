// A small Server-Sent Events client over fetch, parsing the stream as the EventSource spec does: lines end
// with CR, LF or CRLF, a blank line dispatches, `data` lines join with LF, `:` starts a comment.

export interface SseMessage {
  event: string;
  data: string;
  /** The `id:` of this message, or null when it carried none. */
  id: string | null;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The `id:` of the last message handed out, as EventSource would send in `Last-Event-ID` on reconnect. */
  lastEventId(): string;
  /** The next message; null once the server ended the stream. Fails after `timeoutMs` naming what came so far. */
  next(timeoutMs?: number): Promise<SseMessage | null>;
  /** Messages until one satisfies `stop` (included) or the stream ends. */
  until(stop: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  /** Every message until the server ends the stream. */
  rest(timeoutMs?: number): Promise<SseMessage[]>;
  /** Drops the connection, as a client going away does. */
  close(): void;
}

export function json<T = Record<string, unknown>>(m: SseMessage): T {
  return JSON.parse(m.data) as T;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const queue: SseMessage[] = [];
  const seen: SseMessage[] = [];
  let buffer = '';
  let ended = false;
  let lastId = '';
  let current: { event: string; data: string[]; id: string | null } = { event: '', data: [], id: null };

  const parseLine = (line: string): void => {
    if (line === '') {
      if (current.data.length > 0) {
        const message = { event: current.event || 'message', data: current.data.join('\n'), id: current.id };
        queue.push(message);
        seen.push(message);
      }
      current = { event: '', data: [], id: null };
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') current.event = value;
    else if (field === 'data') current.data.push(value);
    else if (field === 'id' && !value.includes('\0')) current.id = value;
  };

  const parse = (): void => {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1 && !ended)) return;
      parseLine(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  };

  const pull = async (): Promise<void> => {
    try {
      const { done, value } = await reader.read();
      if (done) ended = true;
      else buffer += decoder.decode(value, { stream: true });
    } catch {
      ended = true;
    }
    parse();
  };

  const describe = (): string =>
    seen.slice(-8).map((m) => `${m.event}${m.id ? `#${m.id}` : ''} ${m.data.slice(0, 120)}`).join(' | ') || '(nothing)';

  const next = async (timeoutMs = 20_000): Promise<SseMessage | null> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0 && !ended) {
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        pull().then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), Math.max(left, 0)))),
      ]);
      clearTimeout(timer);
      if (timedOut) throw new Error(`No SSE message within ${timeoutMs} ms; last seen: ${describe()}`);
    }
    const message = queue.shift() ?? null;
    if (message?.id != null) lastId = message.id;
    return message;
  };

  const until = async (stop: (m: SseMessage) => boolean, timeoutMs = 30_000): Promise<SseMessage[]> => {
    const deadline = Date.now() + timeoutMs;
    const out: SseMessage[] = [];
    for (;;) {
      const m = await next(Math.max(deadline - Date.now(), 1));
      if (!m) return out;
      out.push(m);
      if (stop(m)) return out;
    }
  };

  return {
    status: response.status,
    headers: response.headers,
    lastEventId: () => lastId,
    next,
    until,
    rest: (timeoutMs) => until(() => false, timeoutMs),
    close: () => controller.abort(),
  };
}
