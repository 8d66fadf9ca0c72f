// The LLM gateway: a loopback HTTP server between every clone and its model provider. It authenticates the
// clone by its per-clone token, runs the pre-forward steps (budget, rate limit), forwards to the configured
// upstream with the real key, or in passthrough with the agent's own credential untouched (path-token.ts),
// again after a delay when it answers 429/503/529 (retry.ts), streams the answer back as it arrives while
// reading its usage, and meters each request (store row, then `onRequest`).
// For a recording task's clone the flight recorder keeps each exchange as it passes (recorder.ts); a replaying
// task's clone is answered from a recording instead of any upstream (replay.ts).
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { GATEWAY_PROVIDERS, KageError, showValue, type GatewayGrant, type GatewayProvider, type GatewayRequestRecord } from '../domain/index.js';
import { listenHttp } from '../net/listen.js';
import { forward, responseHeaders, type ForwardOutcome } from './forward.js';
import { createUsageMeter, type UsageMeter } from './meter.js';
import { createPriceTable, type ModelPrice } from './prices.js';
import { clientCredential, PROVIDERS, requestedModel, routeOf, type ProviderSpec } from './providers.js';
import { createExchangeTap, createSequencer, DEFAULT_MAX_RECORDED_BYTES, type ExchangeTap, type RecordingStore } from './recorder.js';
import { splitPathToken } from './path-token.js';
import { redactedPath, redactedRequestUrl, redactPathToken } from './redact.js';
import { createReplayer, type ReplayMismatch, type ReplayStore, type ReplayTiming } from './replay.js';
import { BodyTooLarge, parseBody, readBody, upstreamHeaders, upstreamUrl, type UpstreamAuth } from './request.js';
import { pause, retryDelayMs, type UpstreamRetryOptions } from './retry.js';
import { runSteps, type GatewayRequestInfo, type GatewayStep } from './steps.js';
import { createTokenRegistry, type GatewayTokenStore } from './tokens.js';

export interface GatewayUpstream {
  /** Same form as the base URL the provider's clients take (OpenAI with `/v1`); null = the real provider. */
  baseUrl: string | null;
  /** The real credential sent upstream; null sends none (a local or mock server). */
  apiKey: string | null;
}

/** Where tokens and metered requests are kept (PgGatewayStore); null keeps tokens in memory and stores nothing. */
export interface GatewayStore extends GatewayTokenStore {
  insertGatewayRequest(record: GatewayRequestRecord): Promise<void>;
}

export interface GatewayOptions {
  upstreams: Partial<Record<GatewayProvider, GatewayUpstream>>;
  store: GatewayStore | null;
  log: Logger;
  /** Added to or replacing the default price table, by model-name prefix. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /** Run in order after authentication, before forwarding (budget check, rate-limit wait). */
  steps?: readonly GatewayStep[];
  /** Each metered request, after its row is stored (or failed to be). */
  onRequest?: (record: GatewayRequestRecord) => void;
  /** Each metered request at once, before its row is written, with the request info the steps saw (budget totals). */
  onMetered?: (record: GatewayRequestRecord, request: GatewayRequestInfo) => void;
  /** Default 127.0.0.1: clones run on this machine, and the port must not be reachable from elsewhere. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 64 MiB. */
  maxBodyBytes?: number;
  /** Default 10 s: an upstream host that does not answer the connection attempt is unreachable after it. */
  connectTimeoutMs?: number;
  /** Upstream 429/503/529 retried before the client has seen a byte (retry.ts); default no retries. */
  retry?: UpstreamRetryOptions;
  /** The flight recorder: where recordings are kept and read (PgRecordingStore); without it nothing is recorded and replays fail. */
  recordings?: (RecordingStore & ReplayStore) | null;
  /** Largest answer kept per recorded exchange (default 16 MiB); past it the bytes are counted, not kept. */
  maxRecordedBytes?: number;
  /** How replays stream recorded answers; default `fast`. */
  replayTiming?: ReplayTiming;
  /** A replayed request that did not meet its recorded twin (a `replay_mismatch` event). */
  onReplayMismatch?: (grant: GatewayGrant, mismatch: ReplayMismatch) => void;
}

export interface Gateway {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  /** The base URL per provider, in the form that provider's variable takes (see providers.ts). */
  baseUrls(): Record<GatewayProvider, string>;
  /** A fresh token for a clone to send as its API key, or with `grant.auth` `passthrough` to name in its base URLs' path (withPathToken). */
  issueToken(grant: GatewayGrant): Promise<string>;
  revokeToken(token: string): Promise<void>;
  /** Stops listening, cuts open requests (and their upstream requests), waits for metering writes. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Set on the gateway's own 502 when nothing could be connected to upstream, with `x-kage-upstream` naming it:
 * kage's API worker then reports the upstream as unreachable (permanent, no retry), as it would without the
 * gateway, rather than a provider's passing 502.
 */
export const UNREACHABLE_HEADERS = Object.freeze({ error: 'x-kage-gateway-error', upstream: 'x-kage-upstream', reason: 'x-kage-upstream-error' });

function normalizeUpstream(spec: ProviderSpec, upstream: GatewayUpstream | undefined): string {
  let base = (upstream?.baseUrl ?? spec.defaultUpstream).trim().replace(/\/+$/, '');
  if (!base.includes('://')) base = `http://${base}`;
  // Claude Code's convention is without `/v1`; a base URL given with it would lead to `/v1/v1/messages`.
  if (spec.name === 'anthropic') base = base.replace(/\/v1$/, '');
  try {
    const url = new URL(base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`gateway.upstreams.${spec.name}.baseUrl\` to be an http(s) URL, got ${showValue(upstream?.baseUrl)}`,
      { field: `gateway.upstreams.${spec.name}.baseUrl` });
  }
  return base;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { log, store } = options;
  const tokens = createTokenRegistry(store);
  const prices = createPriceTable(options.prices);
  const steps = options.steps ?? [];
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxRecordedBytes = options.maxRecordedBytes ?? DEFAULT_MAX_RECORDED_BYTES;
  const upstreams = Object.fromEntries(GATEWAY_PROVIDERS.map((p) => [p, {
    base: normalizeUpstream(PROVIDERS[p], options.upstreams[p]),
    apiKey: options.upstreams[p]?.apiKey ?? null,
  }])) as Record<GatewayProvider, { base: string; apiKey: string | null }>;
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const open = new Set<ServerResponse>();
  const writes = new Set<Promise<void>>();
  const recordings = options.recordings ?? null;
  const sequencer = recordings === null ? null : createSequencer(recordings);
  const replayer = createReplayer({
    store: recordings ?? { recordedRequests: async () => [], recordedResponse: async () => null },
    timing: options.replayTiming ?? 'fast',
    onMismatch: (grant, mismatch) => {
      try {
        options.onReplayMismatch?.(grant, mismatch);
      } catch (err) {
        log.error({ err }, 'a gateway onReplayMismatch listener failed');
      }
    },
  });

  /** Keeps a store write in `writes` until it settles, so `close` can wait for it. */
  function track(write: Promise<void>): void {
    const tracked: Promise<void> = write.catch(() => undefined).finally(() => writes.delete(tracked));
    writes.add(tracked);
  }

  function keep(tap: ExchangeTap | null, end: Parameters<ExchangeTap['exchange']>[0]): void {
    if (tap === null || recordings === null) return;
    const exchange = tap.exchange(end);
    track(recordings.insertRecording(exchange)
      .catch((err: unknown) => log.error({ err, task: exchange.taskId, clone: exchange.cloneId }, 'storing a recorded exchange failed')));
  }

  function meter(record: GatewayRequestRecord, request: GatewayRequestInfo): void {
    try {
      options.onMetered?.(record, request);
    } catch (err) {
      log.error({ err }, 'a gateway onMetered listener failed');
    }
    const write = (store?.insertGatewayRequest(record) ?? Promise.resolve())
      .catch((err: unknown) => log.error({ err, task: record.taskId, clone: record.cloneId }, 'storing a gateway request failed'))
      .finally(() => {
        writes.delete(write);
        try {
          options.onRequest?.(record);
        } catch (err) {
          log.error({ err }, 'a gateway onRequest listener failed');
        }
      });
    writes.add(write);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = new Date();
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const method = req.method ?? 'GET';
    // A passthrough clone's base URLs name its token in the path; it is dropped here, before anything is routed.
    const scoped = splitPathToken(url.pathname);
    const route = routeOf(scoped?.path ?? url.pathname);
    if (route === null) {
      if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('kage gateway\n');
      return sendJson(res, 404, { error: { message: `kage gateway: no provider at ${redactPathToken(url.pathname)}; use /anthropic, /openai/v1, /gemini or /ollama` } });
    }
    const { spec, rest } = route;
    if ((rest === '' || rest === '/') && (method === 'GET' || method === 'HEAD')) {
      // Liveness probes; Ollama clients look for this exact text at the root.
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(spec.name === 'ollama' ? 'Ollama is running' : 'kage gateway\n');
    }
    if (req.headers.upgrade !== undefined) {
      // Codex tries a WebSocket on GET /responses first and falls back to HTTPS on 426.
      return sendJson(res, 426, spec.errorBody(426, 'kage gateway: WebSocket transport is not supported; use HTTPS'));
    }
    // In passthrough the key headers are the agent's own credential (or none: the upstream answers that).
    const credential = scoped === null ? clientCredential(req.headers, url) : null;
    const grant = scoped !== null ? await tokens.resolve(scoped.token, 'passthrough')
      : credential === null ? null : await tokens.resolve(credential.token);
    if (grant === null) {
      const message = scoped !== null ? 'kage gateway: the path does not name a live kage clone token'
        : credential === null ? 'kage gateway: no API key; send the clone token kage gave you' : 'kage gateway: the API key is not a live kage clone token';
      return sendJson(res, 401, spec.errorBody(401, message));
    }

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendJson(res, 413, spec.errorBody(413, `kage gateway: ${err.message}`), { connection: 'close' });
      if (req.destroyed) return; // the client went away while sending: nothing was forwarded, nothing to meter
      throw err;
    }
    const requestModel = requestedModel(spec.name, rest, parseBody(body, req.headers['content-encoding'] as string | undefined));
    const base = { taskId: grant.taskId, cloneId: grant.cloneId, provider: spec.name, method, path: rest, startedAt };
    const record = (status: number | null, error: string | null, extra: Partial<GatewayRequestRecord> = {}): GatewayRequestRecord => ({
      ...base, model: requestModel, status, error, stream: false, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0,
      cacheWriteTokens: 0, costUsd: 0, latencyMs: performance.now() - started, ttfbMs: null, ...extra,
    });

    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const info: GatewayRequestInfo = { grant, provider: spec.name, model: requestModel, method, path: rest, bodyBytes: body.length };
    const rejection = await runSteps(steps, info, aborted.signal);
    if (aborted.signal.aborted) return meter(record(null, 'the client disconnected before forwarding'), info);
    if (rejection !== null) {
      sendJson(res, rejection.status, spec.errorBody(rejection.status, rejection.message), rejection.headers);
      return meter(record(rejection.status, rejection.message), info);
    }

    const flight = grant.flight ?? null;
    const path = redactedPath(rest, url);
    const tap = flight?.mode === 'record' && sequencer !== null
      ? createExchangeTap({ grant, flight, seq: await sequencer.next(grant.taskId, flight.cloneName), provider: spec.name, method, path,
        headers: req.headers, body, startedAt, started }, maxRecordedBytes)
      : null;
    let usageMeter: UsageMeter | null = null;
    const hooks = {
      onResponse: (status: number, headers: IncomingHttpHeaders): void => {
        usageMeter = createUsageMeter(spec.name, headers['content-type']);
        tap?.response(status, responseHeaders(headers));
      },
      onChunk: (chunk: Buffer): void => {
        usageMeter?.push(chunk);
        tap?.chunk(chunk);
      },
    };
    let outcome: ForwardOutcome;
    if (flight?.mode === 'replay') {
      outcome = await replayer.serve({ grant, flight, spec, method, path, body, model: requestModel,
        contentEncoding: req.headers['content-encoding'] as string | undefined }, res, hooks);
    } else {
      const upstream = upstreams[spec.name];
      // No credential was read only for a path token: the agent's own credential goes upstream as it is.
      const auth: UpstreamAuth = credential === null ? 'passthrough'
        : upstream.apiKey === null ? {} : spec.upstreamAuth(upstream.apiKey, credential.bearer);
      const retry = options.retry;
      // The whole request again while the client has seen nothing of the answer; the last answer goes through.
      for (let attempt = 0; ; attempt += 1) {
        let delayMs: number | null = null;
        outcome = await forward({
          url: upstreamUrl(upstream.base, rest, url, auth),
          method,
          headers: upstreamHeaders(req.headers, body.length, auth),
          body,
          agents,
          connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        }, res, {
          hold: (status, headers) => {
            delayMs = retry === undefined ? null : retryDelayMs(retry, attempt, status, headers['retry-after'], Date.now());
            return delayMs !== null;
          },
          ...hooks,
        });
        if (outcome.held === null || retry === undefined || delayMs === null) break;
        try {
          retry.onRetry?.(info, { status: outcome.held.status, delayMs, attempt: attempt + 1 });
        } catch (err) {
          log.error({ err }, 'a gateway onRetry listener failed');
        }
        const limited = (await pause(delayMs, aborted.signal)) ? await retry.beforeRetry?.(info, aborted.signal) ?? null : null;
        if (aborted.signal.aborted) return meter(record(null, `the client disconnected while a retry after HTTP ${outcome.held.status} waited`), info);
        if (limited !== null) {
          sendJson(res, limited.status, spec.errorBody(limited.status, limited.message), limited.headers);
          return meter(record(limited.status, limited.message), info);
        }
      }
      if (outcome.unreachable) {
        log.warn({ provider: spec.name, upstream: upstream.base, error: outcome.error }, 'gateway upstream unreachable');
        const answer = Buffer.from(JSON.stringify(spec.errorBody(502, `kage gateway: ${outcome.error}`)));
        const headers = {
          [UNREACHABLE_HEADERS.error]: 'upstream-unreachable',
          [UNREACHABLE_HEADERS.upstream]: upstream.base,
          // Header values must be Latin-1; error texts from the network stack are ASCII, but keep it so.
          [UNREACHABLE_HEADERS.reason]: (outcome.unreachableReason ?? '').replace(/[^\x20-\x7e]/g, '?'),
          'content-type': 'application/json',
        };
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, { ...headers, 'content-length': answer.length }).end(answer);
          // The client's answer is kage's own 502; a replay gives the same one.
          tap?.response(502, headers);
          tap?.chunk(answer);
        }
        keep(tap, { stream: false, complete: res.headersSent, error: outcome.error });
        return meter(record(res.headersSent ? 502 : null, outcome.error), info);
      }
    }
    const m = usageMeter as UsageMeter | null;
    const usage = m?.end() ?? null;
    const counts = usage === null ? {} : {
      inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cacheReadTokens: usage.cacheReadTokens, cacheWriteTokens: usage.cacheWriteTokens,
    };
    const model = usage?.model ?? requestModel;
    const error = outcome.error ?? (outcome.status !== null && outcome.status >= 400 ? usage?.error ?? `HTTP ${outcome.status}` : usage?.error ?? null);
    const stream = (m?.streamed ?? false) || rest.includes(':streamGenerateContent');
    keep(tap, { stream, complete: outcome.error === null, error: outcome.error });
    meter(record(outcome.status, error, {
      ...counts,
      model,
      stream,
      costUsd: usage === null ? 0 : prices.costUsd(model, usage),
      ttfbMs: outcome.firstByteAt === null ? null : outcome.firstByteAt - started,
    }), info);
  }

  const server = http.createServer((req, res) => {
    open.add(res);
    res.once('close', () => open.delete(res));
    handle(req, res).catch((err: unknown) => {
      log.error({ err, path: redactedRequestUrl(req.url ?? '/') }, 'gateway request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { message: `kage gateway: internal error: ${(err as Error).message}` } });
      else res.destroy();
    });
  });
  const { url, port } = await listenHttp(server, options.host ?? '127.0.0.1', options.port ?? 0);
  let closing: Promise<void> | null = null;

  return {
    url,
    port,
    baseUrls: () => Object.fromEntries(GATEWAY_PROVIDERS.map((p) => [p, `${url}${PROVIDERS[p].prefix}`])) as Record<GatewayProvider, string>,
    issueToken: (grant) => tokens.issue(grant),
    async revokeToken(token) {
      const grant = await tokens.resolve(token).catch(() => null);
      if (grant?.flight) {
        replayer.forget(grant);
        sequencer?.forget(grant.taskId, grant.flight.cloneName);
      }
      await tokens.revoke(token);
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const res of open) res.destroy();
        server.closeAllConnections();
        await stopped;
        agents.http.destroy();
        agents.https.destroy();
        while (writes.size > 0) await Promise.all([...writes]);
      })();
      return closing;
    },
  };
}
