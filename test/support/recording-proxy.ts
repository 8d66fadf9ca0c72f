// A recording HTTP proxy on 127.0.0.1 in front of another server (the mock model): it keeps every request's
// raw headers and the exact bytes of every answer, so a test can compare what a client got through the
// gateway with what the upstream really sent, and see which credential reached the upstream.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  /** Path and query as the upstream got them. */
  path: string;
  headers: IncomingHttpHeaders;
  status: number | null;
  /** The answer's body bytes, as the upstream sent them. */
  response: Buffer;
}

export interface RecordingProxy {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const exchange: Exchange = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, status: null, response: Buffer.alloc(0) };
    exchanges.push(exchange);
    const chunks: Buffer[] = [];
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      exchange.status = answer.statusCode ?? null;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        res.write(chunk);
      });
      answer.on('end', () => {
        exchange.response = Buffer.concat(chunks);
        res.end();
      });
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
