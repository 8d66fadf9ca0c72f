// A scripted HTTP server on 127.0.0.1 for the API worker's provider tests: it logs every request (path,
// headers, JSON body) and answers the n-th with the handler's reply, usually a canned SSE or NDJSON stream.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface ScriptedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** Answers request number `n` (0-based). */
export type ScriptedHandler = (request: ScriptedRequest, res: ServerResponse, n: number) => void;

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  requests: ScriptedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(handler: ScriptedHandler): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const server = createServer((req, res) => {
    readBody(req).then((raw) => {
      let body: any = raw;
      try {
        body = raw === '' ? null : JSON.parse(raw);
      } catch {
        // logged as text
      }
      const request = { method: req.method ?? '', path: (req.url ?? '/').split('?')[0] ?? '/', headers: req.headers, body };
      requests.push(request);
      handler(request, res, requests.length - 1);
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A scripted server for the current test only: closed when the test finishes, passed or failed. */
export async function serveScripted(handler: ScriptedHandler): Promise<ScriptedServer> {
  const server = await startScriptedServer(handler);
  onTestFinished(() => server.close());
  return server;
}

/** One SSE event: Anthropic names each (`event: content_block_delta`); OpenAI sends bare `data:` lines. */
export function sseEvent(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${payload}\n\n`;
}

/** Anthropic's framing: the event name is the payload's `type`. */
export function anthropicEvents(events: readonly ({ type: string } & Record<string, unknown>)[]): string[] {
  return events.map((data) => sseEvent(data, data.type));
}

/** Streams the pieces as separate writes, then ends the response, or cuts the connection when `cut` is set. */
export function writeSse(res: ServerResponse, pieces: readonly string[], opts: { cut?: boolean } = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const piece of pieces) res.write(piece);
  endOrCut(res, opts.cut);
}

/** Ollama's framing: one JSON object a line, then the end of the response, or a cut connection when `cut` is set. */
export function writeNdjson(res: ServerResponse, lines: readonly unknown[], opts: { cut?: boolean } = {}): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
  endOrCut(res, opts.cut);
}

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function endOrCut(res: ServerResponse, cut = false): void {
  if (cut) setImmediate(() => res.socket?.destroy());
  else res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
