// Many Server-Sent Events subscribers on one progress stream, each noting when every event reached it.
// The stream is parsed as the EventSource spec says: lines end with CR, LF or CRLF, a blank line dispatches,
// `data` lines join with LF, `:` starts a comment.
import http from 'node:http';

/** Wall-clock time in ms with sub-millisecond resolution, comparable between processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface SseMessage {
  event: string;
  data: string;
}

/** Feeds text in; calls `onMessage` for every complete message. */
export function createSseParser(onMessage: (m: SseMessage) => void): (text: string) => void {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const line = (text: string): void => {
    if (text === '') {
      if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  return (text) => {
    buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) return;
      line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  };
}

/** When one subscriber received one event: `[event id, wall-clock ms]`. */
export type Receipt = [string, number];

export interface SseSubscribers {
  /** Resolves once every subscriber holds `count` receipts; fails after `timeoutMs` naming the slowest. */
  waitFor(count: number, timeoutMs: number): Promise<Receipt[][]>;
  close(): void;
}

/**
 * Opens `count` streams at `url` and resolves once each has received `connected`. Every event whose data is
 * JSON with `type` equal to `eventType` is noted, on arrival, as a receipt of its `id`.
 */
export async function openSubscribers(url: string, headers: Record<string, string>, count: number, eventType: string): Promise<SseSubscribers> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const receipts: Receipt[][] = Array.from({ length: count }, () => []);
  const requests: http.ClientRequest[] = [];
  let onReceipt = (_held: number): void => undefined;

  const open = (index: number): Promise<void> => new Promise((resolve, reject) => {
    const parse = createSseParser((m) => {
      if (m.event === 'connected') {
        resolve();
        return;
      }
      if (m.data.includes(eventType)) {
        const data = JSON.parse(m.data) as { id?: unknown; type?: unknown };
        if (data.type === eventType) {
          const held = receipts[index]!;
          held.push([String(data.id), wallClockMs()]);
          onReceipt(held.length);
        }
      }
    });
    const req = http.get({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search,
      headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`Subscriber ${index} got HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', parse);
    });
    req.on('error', reject);
    requests.push(req);
  });

  await Promise.all(Array.from({ length: count }, (_, i) => open(i)));
  return {
    waitFor(n, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (held: number): void => {
          if (held >= n && receipts.every((r) => r.length >= n)) {
            clearTimeout(timer);
            onReceipt = () => undefined;
            resolve(receipts);
          }
        };
        const timer = setTimeout(() => {
          onReceipt = () => undefined;
          const fewest = Math.min(...receipts.map((r) => r.length));
          reject(new Error(`After ${timeoutMs} ms the slowest subscriber had ${fewest} of ${n} events`));
        }, timeoutMs);
        onReceipt = check;
        check(n);
      });
    },
    close() {
      for (const req of requests) req.destroy();
      agent.destroy();
    },
  };
}
