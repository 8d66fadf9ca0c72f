// Server-Sent Events on a hijacked fastify reply: framing, headers, idle ticks and a bound on what a slow
// client may leave buffered in memory.
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';

/** One SSE message. `data` is JSON; a line break inside it still becomes its own `data:` line. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  let frame = id === undefined ? '' : `id: ${oneLine(id)}\n`;
  frame += `event: ${oneLine(event)}\n`;
  for (const line of JSON.stringify(data).split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

export interface SseStream {
  /** False once the stream is closed (by us or by the client); the frame was then dropped. */
  send(event: string, data: unknown, id?: string): boolean;
  end(): void;
  readonly closed: boolean;
}

export interface SseOptions {
  /** `onIdle` runs after this long without a write, and again every as long while idle. */
  idleMs: number;
  onIdle: () => void;
  /** Runs once, when the client goes away or the stream is ended. */
  onClose: () => void;
  /**
   * A client that leaves this many bytes unread, or leaves anything unread for `stallMs`, is cut off. It
   * resumes with `Last-Event-ID`, so cutting loses nothing, while buffering without bound would let one
   * stalled reader grow the heap. A reader merely slower than a burst (a long replay) drains and stays.
   */
  maxBufferedBytes?: number;
  stallMs?: number;
}

export function openSseStream(reply: FastifyReply, opts: SseOptions): SseStream {
  const res = reply.raw;
  const maxBuffered = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
  const stallMs = opts.stallMs ?? 30_000;
  reply.hijack();
  // Headers set by hooks (request id, CORS) would be lost with the hijack; carry them over.
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  let closed = false;
  const idle = setTimeout(function tick() {
    if (closed) return;
    opts.onIdle();
    idle.refresh();
  }, opts.idleMs);

  let stalled: NodeJS.Timeout | null = null;

  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(idle);
    if (stalled) clearTimeout(stalled);
    opts.onClose();
  };
  // Dropping the connection frees the buffer now; an orderly end would wait for the client to read it.
  const cut = (): void => {
    res.destroy();
    close();
  };
  res.on('close', close);
  res.on('drain', () => {
    if (stalled) clearTimeout(stalled);
    stalled = null;
  });
  // A write to a connection the client just dropped errors; 'close' follows and cleans up.
  res.on('error', () => undefined);

  const stream: SseStream = {
    send(event, data, id) {
      if (closed) return false;
      const flushed = res.write(sseFrame(event, data, id));
      idle.refresh();
      if (res.writableLength > maxBuffered) {
        cut();
        return false;
      }
      if (!flushed && !stalled) {
        stalled = setTimeout(cut, stallMs);
        stalled.unref();
      }
      return true;
    },
    end() {
      if (closed) return;
      res.end();
      close();
    },
    get closed() {
      return closed;
    },
  };
  return stream;
}
