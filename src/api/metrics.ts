// Prometheus metrics for the server: process health, the store's connection pool, the clone queue, running
// clones, HTTP traffic per route, per-agent tokens, cost and clone outcomes read from the store, and the
// requests this process's LLM gateway meters (gateway-metrics.ts).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CloneStatus } from '../domain/index.js';
import type { AgentStats, CloneOutcome } from '../store/pg-store.js';
import type { ApiDeps } from './deps.js';
import { createGatewayMetrics } from './gateway-metrics.js';

/** Route label of requests no route matched, so probing random URLs cannot create new series. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Terminal states counted by `kage_clones_failed_total`: the agent produced no usable result on its own. */
export const FAILED_CLONE_STATUSES: readonly CloneStatus[] = ['failed', 'timeout'];

/** How long one read of the store serves scrapes, so several Prometheus servers do not each query it. */
const STORE_READ_TTL_MS = 1000;

/** Seconds; finer than prom-client's defaults at the low end, where most API calls land. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type MetricsDeps = Pick<ApiDeps, 'kage' | 'log'>;

export interface KageMetrics {
  registry: Registry;
  /** Records one finished HTTP request; `route` is the route pattern or UNMATCHED_ROUTE. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** Stops following the gateway's metered requests. */
  close(): void;
}

interface StoreTotals {
  agents: AgentStats[];
  outcomes: CloneOutcome[];
}

/** Serves one in-flight or recent result of `read` to every caller within `ttlMs`; null when it failed. */
function cachedRead<T>(ttlMs: number, read: () => Promise<T>, onError: (err: unknown) => void): () => Promise<T | null> {
  let startedAt = -Infinity;
  let last: Promise<T | null> = Promise.resolve(null);
  return () => {
    const now = performance.now();
    if (now - startedAt >= ttlMs) {
      startedAt = now;
      last = read().catch((err: unknown) => {
        onError(err);
        return null;
      });
    }
    return last;
  };
}

export function createMetricsRegistry(deps: MetricsDeps): KageMetrics {
  const { ctx } = deps.kage;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const readErrors = new Counter({
    name: 'kage_metrics_read_errors_total',
    help: 'Scrapes that could not read a source (store or queue); its metrics keep their last values, queue depth turns NaN',
    labelNames: ['source'],
    registers,
    // Waits for this scrape's reads, so a failure is counted in the same scrape that saw it.
    async collect() {
      await Promise.all([readTotals(), readQueueDepth()]);
    },
  });
  const failedRead = (source: 'store' | 'queue') => (err: unknown): void => {
    readErrors.inc({ source });
    deps.log.warn({ err, source }, 'reading metrics failed');
  };
  const readTotals = cachedRead<StoreTotals>(STORE_READ_TTL_MS, async () => {
    const [agents, outcomes] = await Promise.all([ctx.store.agentStats(), ctx.store.cloneOutcomes()]);
    return { agents, outcomes };
  }, failedRead('store'));
  const readQueueDepth = cachedRead(STORE_READ_TTL_MS, async () => {
    const depth: number | null = await ctx.queue.depth();
    // pg-boss answers null instead of throwing while its connection is closed.
    if (depth === null || !Number.isFinite(depth)) throw new Error(`The queue size is unavailable (got ${String(depth)})`);
    return depth;
  }, failedRead('queue'));

  new Gauge({
    name: 'kage_db_pool_connections',
    help: 'Connection pool of the store: connections in use and idle, and queries waiting for a connection',
    labelNames: ['state'],
    registers,
    collect() {
      const { pool } = ctx.store;
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  new Gauge({
    name: 'kage_queue_depth',
    help: 'Clone jobs waiting in the queue (all processes sharing the database); NaN when the queue cannot be read',
    registers,
    async collect() {
      const depth = await readQueueDepth();
      this.set(depth ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'kage_running_clones',
    help: 'Clones this process is working on now (preparing, running the agent, or checking)',
    registers,
    collect() {
      this.set(ctx.running.size);
    },
  });

  // Totals over the whole store, replaced wholesale on each read; when a read fails the last ones stay, so
  // a database hiccup never looks like a counter reset.
  const totalsCounter = <L extends string>(name: string, help: string, labelNames: L[],
    fill: (inc: (labels: Record<L, string>, value: number) => void, totals: StoreTotals) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const totals = await readTotals();
        if (!totals) return;
        this.reset();
        fill((labels, value) => this.inc(labels as never, value), totals);
      },
    });
  };
  totalsCounter('kage_agent_tokens_total', 'Tokens (input, output and cache) used by all clones of an agent', ['agent'],
    (inc, t) => t.agents.forEach((a) => inc({ agent: a.agent }, a.tokens)));
  totalsCounter('kage_agent_cost_usd_total', 'Cost in US dollars reported for all clones of an agent', ['agent'],
    (inc, t) => t.agents.forEach((a) => inc({ agent: a.agent }, a.costUsd)));
  totalsCounter('kage_clones_total', 'Clones that reached a terminal status, per agent and status', ['agent', 'status'],
    (inc, t) => t.outcomes.forEach((o) => inc({ agent: o.agent, status: o.status }, o.clones)));
  totalsCounter('kage_clones_failed_total',
    `Clones that ended ${FAILED_CLONE_STATUSES.join(' or ')}, per agent (0 for agents with none)`, ['agent'], (inc, t) => {
      for (const a of t.agents) inc({ agent: a.agent }, 0);
      for (const o of t.outcomes) if (FAILED_CLONE_STATUSES.includes(o.status)) inc({ agent: o.agent }, o.clones);
    });

  const requests = new Counter({
    name: 'kage_http_requests_total',
    help: 'HTTP requests answered, per method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'kage_http_request_duration_seconds',
    help: 'Time from routing a request to the end of its response (an SSE stream counts until it closes)',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
    registers,
  });

  const gateway = createGatewayMetrics(registers);
  const unsubscribe = deps.kage.onGatewayRequest((record) => gateway.observe(record));

  return {
    registry,
    observeRequest(method, route, statusCode, seconds) {
      requests.inc({ method, route, status: String(statusCode) });
      duration.observe({ method, route }, seconds);
    },
    close: unsubscribe,
  };
}

/** Times every request of `app` and serves `GET /metrics` (behind the same auth as the rest of the API). */
export function installMetrics<Logger extends FastifyBaseLogger, Provider extends FastifyTypeProvider>(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, Provider>,
  deps: MetricsDeps,
): void {
  const metrics = createMetricsRegistry(deps);
  app.addHook('onClose', async () => metrics.close());
  // `reply.elapsedTime` starts when fastify routes the request, before any onRequest hook: a request the
  // auth hook rejects is timed too, which a start time taken in a later onRequest hook would miss.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
