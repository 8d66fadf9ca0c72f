// Sends one request upstream and passes the answer to the client as it arrives: status and headers at once,
// then each chunk as it comes, pausing the upstream while the client's socket is full (backpressure). A
// client that goes away aborts the upstream request; an upstream that breaks off ends the client's answer.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

export interface UpstreamRequest {
  url: URL;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  agents: { http: http.Agent; https: https.Agent };
  /** A host that drops the connection attempt counts as unreachable after this long. */
  connectTimeoutMs: number;
}

export interface ForwardHooks {
  /** The upstream answered; called before its headers go to the client. */
  onResponse(status: number, headers: IncomingHttpHeaders): void;
  /** One body chunk, exactly as it goes to the client. */
  onChunk(chunk: Buffer): void;
  /**
   * Asked first when the upstream answers: true keeps the answer from the client (its body is read and
   * dropped, so the connection can be reused) and reports it as `held`, for the gateway to retry.
   */
  hold?(status: number, headers: IncomingHttpHeaders): boolean;
}

export interface ForwardOutcome {
  /** The upstream's status, passed to the client; null when it never answered. */
  status: number | null;
  /** `performance.now()` at the first body byte from upstream. */
  firstByteAt: number | null;
  /** Nothing answered: connection refused, DNS, TLS. The client has been sent nothing yet. */
  unreachable: boolean;
  clientClosed: boolean;
  error: string | null;
  /** Why the upstream could not be reached (`connect ECONNREFUSED 127.0.0.1:9`), when it could not. */
  unreachableReason: string | null;
  /** The answer `hold` kept back; the client has been sent nothing. */
  held: { status: number; headers: IncomingHttpHeaders } | null;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the gateway sets itself; never copied across. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The upstream's answer headers as the client gets them. */
export function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = new Set(String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export function forward(request: UpstreamRequest, res: ServerResponse, hooks: ForwardHooks): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const outcome: ForwardOutcome = { status: null, firstByteAt: null, unreachable: false, clientClosed: false, error: null, unreachableReason: null, held: null };
    let settled = false;
    const finish = (patch: Partial<ForwardOutcome>): void => {
      if (settled) return;
      settled = true;
      resolve(Object.assign(outcome, patch));
    };
    const https_ = request.url.protocol === 'https:';
    const send = https_ ? https.request : http.request;
    const upstream = send(request.url, {
      method: request.method,
      headers: request.headers,
      agent: https_ ? request.agents.https : request.agents.http,
    }, (answer) => {
      const status = answer.statusCode ?? 502;
      outcome.status = status;
      if (hooks.hold?.(status, answer.headers) === true) {
        outcome.held = { status, headers: answer.headers };
        answer.on('error', () => undefined);
        answer.on('close', () => finish({}));
        answer.resume();
        return;
      }
      hooks.onResponse(status, answer.headers);
      res.writeHead(status, responseHeaders(answer.headers));
      // Headers now, not with the first chunk: a client waiting on a slow first token sees the answer has begun.
      res.flushHeaders();
      answer.on('data', (chunk: Buffer) => {
        outcome.firstByteAt ??= performance.now();
        hooks.onChunk(chunk);
        if (!res.write(chunk)) answer.pause();
      });
      res.on('drain', () => answer.resume());
      answer.on('end', () => res.end());
      answer.on('error', () => undefined); // reported through `close` below
      answer.on('close', () => {
        if (answer.complete || settled) return;
        finish({ error: 'the upstream broke off its answer' });
        res.destroy();
      });
    });
    upstream.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive connection
      const timer = setTimeout(() => upstream.destroy(new Error(`connect timed out after ${request.connectTimeoutMs} ms`)), request.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    upstream.on('error', (err) => {
      if (settled) return;
      if (outcome.held !== null) return finish({}); // a held answer that broke off is retried all the same
      if (outcome.status === null) {
        return finish({ unreachable: true, unreachableReason: err.message, error: `cannot reach ${request.url.origin}: ${err.message}` });
      }
      finish({ error: `the upstream failed mid-answer: ${err.message}` });
      res.destroy();
    });
    res.on('finish', () => finish({}));
    res.on('close', () => {
      if (res.writableFinished) return;
      // The client went away: stop the upstream from generating (and billing) an answer nobody reads.
      upstream.destroy();
      finish({ clientClosed: true, error: 'the client disconnected' });
    });
    upstream.end(request.body.length > 0 ? request.body : undefined);
  });
}
