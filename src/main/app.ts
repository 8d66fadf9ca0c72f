// The composition root: builds the store, queue, event log, workspaces, agents and services, and hands
// them to each other. Nothing else constructs infrastructure.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import type { KageConfig } from '../config/config.js';
import type { GatewayRequestRecord } from '../domain/index.js';
import { createAgentRegistry, type AgentRegistry } from '../agents/registry.js';
import type { CoreContext } from '../core/context.js';
import { stopCloneOverBudget } from '../core/clone-runner.js';
import { createTaskService, type TaskService } from '../core/task-service.js';
import { createWorkerRuntime, type WorkerRuntime } from '../core/runtime.js';
import { createEventLog, type EventLog } from '../events/event-log.js';
import { createGateway, type Gateway } from '../gateway/index.js';
import { connectRemoteGateway, type RemoteGateway } from '../gateway/remote.js';
import { CloneQueue } from '../queue/clone-queue.js';
import { ensureEmbeddedPostgres } from '../store/embedded-postgres.js';
import { PgGatewayStore } from '../store/gateway-store.js';
import { PgRecordingStore } from '../store/recording-store.js';
import { createKageBudgetGuard, type KageBudgetGuard } from './budgets.js';
import { createKageRateLimiter, upstreamRetry } from './rate-limits.js';
import { upstreamsWithSecrets } from './upstream-keys.js';
import { createUsageReporter } from './usage-events.js';
import { PgStore } from '../store/pg-store.js';
import { createRepoHeads, quickResolver } from '../workspace/repo-heads.js';
import { createWorktreeManager } from '../workspace/worktrees.js';
import { createUnpricedNotice } from './unpriced.js';

export interface Kage {
  config: KageConfig;
  ctx: CoreContext;
  tasks: TaskService;
  runtime: WorkerRuntime;
  /** Follows every request this process's gateway meters (none without a gateway of its own); returns the unsubscribe. */
  onGatewayRequest(listener: (record: GatewayRequestRecord) => void): () => void;
  close(): Promise<void>;
}

export interface KageOptions {
  /**
   * Start the LLM gateway for the clones this process runs (default: when the queue starts and
   * `gateway.enabled`), or with `gateway.url` check that the one there answers and use it. Read-only
   * commands run no clones and skip it.
   */
  gateway?: boolean;
  /** Start the queue (needed to create tasks or run workers). Read-only commands skip it. */
  queue?: boolean;
  agents?: AgentRegistry;
  log?: Logger;
}

/** Connection string for the configured store, starting the embedded server when none is configured. */
export async function resolveDatabaseUrl(config: KageConfig, log: Logger): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  const info = await ensureEmbeddedPostgres({ home: config.home, binDir: config.pgBinDir, log: (msg) => log.info(msg) });
  return info.url;
}

export async function createKage(config: KageConfig, opts: KageOptions = {}): Promise<Kage> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const url = await resolveDatabaseUrl(config, log);
  const store = new PgStore(url);
  await store.migrate();
  const events = createEventLog(store, { onError: (err) => log.error({ err }, 'storing events failed') });
  // The gateway exists before the context that knows the running clones; a clone over budget is stopped through it.
  let context: CoreContext | null = null;
  const stopClone = (clone: { cloneId: string }, message: string): void => {
    if (context !== null) stopCloneOverBudget(context, clone.cloneId, message);
  };
  const gatewayListeners = new Set<(record: GatewayRequestRecord) => void>();
  const observe = (record: GatewayRequestRecord): void => gatewayListeners.forEach((listener) => listener(record));
  const wanted = (opts.gateway ?? opts.queue !== false) && config.gateway.enabled;
  let gateway: Gateway | RemoteGateway | null = null;
  try {
    // With gateway.url the clones use that gateway, which resolves their tokens from the store and stops a
    // clone over budget through the control channel (gateway-server.ts).
    if (wanted && config.gateway.url !== null) gateway = await connectRemoteGateway(config.gateway.url, new PgGatewayStore(store.pool));
    else if (wanted) gateway = await startGateway(config, store.pool, events, log, { stopClone, observe });
  } catch (err) {
    await store.close();
    throw err;
  }
  const queue = new CloneQueue(url);
  if (opts.queue !== false) await queue.start();
  const repos = createRepoHeads();
  const ctx: CoreContext = {
    config,
    store,
    queue,
    events,
    gateway,
    agents: opts.agents ?? createAgentRegistry(),
    worktrees: createWorktreeManager({ root: join(config.home, 'worktrees'), resolve: quickResolver(repos) }),
    repos,
    log,
    workerId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    running: new Map(),
  };
  context = ctx;
  const runtime = createWorkerRuntime(ctx);
  let closed = false;
  return {
    config,
    ctx,
    tasks: createTaskService(ctx),
    runtime,
    onGatewayRequest(listener) {
      gatewayListeners.add(listener);
      return () => gatewayListeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      await runtime.stop();
      await gateway?.close();
      await ctx.repos.close();
      await ctx.events.flush();
      await store.close();
    },
  };
}

export interface GatewayStartOptions {
  /** Default 127.0.0.1: only this machine's clones reach it. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Stops a clone whose budget is spent; the refusal reaches the clone once it resolves. */
  stopClone?: (clone: { taskId: string; cloneId: string }, message: string) => void | Promise<void>;
  /** Each metered request (the metrics). */
  observe?: (record: GatewayRequestRecord) => void;
}

/** A started gateway and its budget guard (whose totals tests and metrics may look at). */
export type KageGateway = Gateway & { budgets: KageBudgetGuard };

/**
 * The gateway with the configured upstreams, each metered request also `gateway_request` and `usage` events on
 * its task and handed to `observe` (the metrics).
 */
export async function startGateway(config: KageConfig, pool: pg.Pool, events: EventLog, log: Logger,
  opts: GatewayStartOptions = {}): Promise<KageGateway> {
  const store = new PgGatewayStore(pool);
  const observe = opts.observe ?? (() => undefined);
  // First among the steps: a request it admits is the one it later sees metered (budget.ts).
  const budget = createKageBudgetGuard(config.budgets, store, events, opts.stopClone ?? (() => undefined));
  const limits = createKageRateLimiter(config.rateLimits, events);
  const usage = createUsageReporter(config.budgets, store, events, log);
  const unpriced = createUnpricedNotice(config.gateway.prices, events, log);
  const gateway = await createGateway({
    upstreams: await upstreamsWithSecrets(config, pool, log),
    store,
    log,
    prices: config.gateway.prices,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    // The budget first, so that a request it refuses takes no rate-limit slot. A replay reaches no provider,
    // so its requests neither wait for nor take a provider's slot.
    steps: [budget.step, (request, signal) => (request.grant.flight?.mode === 'replay' ? null : limits.step(request, signal))],
    onMetered: (record, request) => {
      budget.onMetered(record, request);
      if (request.grant.flight?.mode !== 'replay') limits.onMetered(record, request);
    },
    recordings: new PgRecordingStore(pool),
    maxRecordedBytes: config.gateway.maxRecordedBytes,
    replayTiming: config.gateway.replayTiming,
    onReplayMismatch: (grant, mismatch) => events.emit(grant.taskId, grant.cloneId, 'replay_mismatch', { ...mismatch }),
    retry: upstreamRetry(config.rateLimits, limits, events),
    onRequest: (r) => {
      events.emit(r.taskId, r.cloneId, 'gateway_request', {
        provider: r.provider, model: r.model, method: r.method, path: r.path, status: r.status, stream: r.stream,
        tokens: { inputTokens: r.inputTokens, outputTokens: r.outputTokens, cacheReadTokens: r.cacheReadTokens, cacheWriteTokens: r.cacheWriteTokens },
        costUsd: r.costUsd, latencyMs: Math.round(r.latencyMs), ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs), error: r.error,
      });
      usage.onRequest(r);
      unpriced(r);
      observe(r);
    },
  }).catch((err: unknown) => {
    budget.close();
    throw err;
  });
  // The usage events of the last requests are read from the store: done before the caller closes it.
  return { ...gateway, budgets: budget, close: () => gateway.close().then(() => {
    budget.close();
    return usage.idle();
  }) };
}
