// One HTTP request with node:http (no fetch: it refuses some ports and hides hop-by-hop details), the whole
// answer buffered, for tests of the gateway.
import { request, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET without a body, POST with `body` as JSON, unless `method` says otherwise. */
export function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(url, { method: opts.method ?? (text === undefined ? 'GET' : 'POST'), headers: {
      ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}
