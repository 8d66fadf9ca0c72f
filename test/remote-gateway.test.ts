// Workers that use a `kage gateway` running on its own (KAGE_GATEWAY_URL) instead of one of their own: the
// genuine Claude Code CLI run by two kage processes' workers (with no provider key of their own) through one
// standalone gateway in front of kage's mock model server. One rate limit holds across both; a clone over its
// budget is stopped by the worker running it and ends budget_exceeded with its work kept, also when the stop
// message is lost; the gateway drops the totals of tasks that ended; a URL that is no kage gateway stops
// the process at start.
import { createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_CHANNEL } from '../src/core/task-service.js';
import { isKageError, isTerminalTask, type CloneRecord, type EventRecord } from '../src/domain/index.js';
import { countedTokens } from '../src/gateway/budget.js';
import { createKage, type Kage } from '../src/main/app.js';
import { startGatewayServer, type GatewayServer } from '../src/main/gateway-server.js';
import { MOCK_USAGE, startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { runGit } from '../src/workspace/git.js';
import { freshDatabase, kageCli, makeRepo, tempDir, testConfig, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';

const closeLater: (() => Promise<void>)[] = [];
let mock: MockModelServer;

beforeAll(async () => {
  mock = await startMockModelServer();
});

afterAll(async () => {
  for (const close of closeLater.reverse()) await close().catch(() => undefined);
  await mock?.close();
});

/**
 * A standalone gateway on a fresh database, forwarding to the mock with the only keys there are, rate-limited
 * to 60 per minute counted over 2-second windows (2 per 2 s) so that the limit shows within seconds.
 */
async function standaloneGateway(): Promise<{ databaseUrl: string; server: GatewayServer }> {
  const databaseUrl = await freshDatabase();
  const dir = tempDir('remote-gateway');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ rateLimits: { requestsPerMinute: 60, windowSeconds: 2 } }));
  const server = await startGatewayServer(testConfig({ databaseUrl, env: { ...mockProviderEnv(mock.url), KAGE_CONFIG: configFile } }), { port: 0 });
  closeLater.push(() => server.close());
  return { databaseUrl, server };
}

/** A kage process's services that run clones through the gateway at `url`; it has no provider key or endpoint. */
async function worker(databaseUrl: string, url: string, prepare: (kage: Kage) => void = () => undefined): Promise<Kage> {
  const kage = await createKage(testConfig({ databaseUrl, env: { KAGE_GATEWAY_URL: url } }));
  closeLater.push(() => kage.close());
  prepare(kage);
  await kage.runtime.start(2);
  return kage;
}

async function finished(kage: Kage, taskId: string): Promise<CloneRecord[]> {
  await waitFor(`task ${taskId} to finish`, async () => {
    const t = await kage.ctx.store.getTask(taskId);
    return t && isTerminalTask(t.status) ? t : undefined;
  }, 150_000);
  return kage.ctx.store.getClones(taskId);
}

/** The most of `times` (ms, sorted) that fall in any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  return Math.max(...times.map((t) => times.filter((s) => s > t - windowMs && s <= t).length));
}

/** Each clone's `clone_finished` event carries its metered tokens and cost, as the task record has them. */
function expectMeteredFinish(clones: CloneRecord[], events: EventRecord[]): void {
  for (const clone of clones) {
    const finish = events.find((e) => e.type === 'clone_finished' && e.cloneId === clone.id);
    expect(clone.usageSource).toBe('gateway');
    expect(finish?.payload).toMatchObject({ usageSource: 'gateway', tokens: clone.usage });
    expect(finish?.payload.costUsd).toBeCloseTo(clone.costUsd, 12);
  }
}

describe('two workers on one standalone gateway', () => {
  let databaseUrl: string;
  let server: GatewayServer;
  let a: Kage;
  let b: Kage;

  beforeAll(async () => {
    ({ databaseUrl, server } = await standaloneGateway());
    a = await worker(databaseUrl, server.gateway.url);
    b = await worker(databaseUrl, server.gateway.url);
  });

  it('holds the clones of both workers to one rate limit in every window, and clone_finished carries the metered tokens', async () => {
    mock.clearRequests();
    const { task } = await a.tasks.createTask({
      description: 'create shared.txt [[mock:write file=shared.txt]]', repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
      clones: [1, 2, 3, 4].map(() => ({ agent: 'claude-code', model: 'claude-sonnet-4-5', timeoutSeconds: 120 })),
    });
    const clones = await finished(a, task.id);
    expect(clones.map((c) => `${c.name}: ${c.status} ${c.error ?? ''}`.trim())).toEqual(clones.map((c) => `${c.name}: succeeded`));
    // Both processes ran clones, neither with a gateway of its own.
    const workers = new Set(clones.map((c) => c.workerId));
    expect(workers).toEqual(new Set([a.ctx.workerId, b.ctx.workerId]));
    expect(a.ctx.gateway?.baseUrls().anthropic).toBe(`${server.gateway.url}/anthropic`);

    const times = mock.requests().map((r) => Date.parse(r.time)).sort((x, y) => x - y);
    expect(times.length).toBeGreaterThanOrEqual(8);
    expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(2);
    const events = await a.ctx.store.listEvents(task.id);
    expect(events.filter((e) => e.type === 'gateway_rate_limited').length).toBeGreaterThan(0);
    expectMeteredFinish(clones, events);
  }, 180_000);

  it('stops a clone over its budget in the worker that runs it: budget_exceeded, its work committed, the totals dropped once the task ended', async () => {
    const BUDGET = 5000;
    const published: string[] = [];
    closeLater.push(await a.ctx.store.listen(CONTROL_CHANNEL, (payload) => published.push(payload)).then((stop) => async () => stop()));
    const { task } = await a.tasks.createTask({
      description: 'keep going [[mock:loop file=progress.txt]]', repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
      tokenBudget: BUDGET, clones: [{ agent: 'claude-code', model: 'claude-sonnet-4-5', timeoutSeconds: 120 }],
    });
    const [clone] = await finished(a, task.id);
    expect(clone!.status, clone!.error ?? '').toBe('budget_exceeded');
    expect(clone!.error).toMatch(/token budget of 5000 exhausted/);
    const stop = published.map((p) => JSON.parse(p)).find((m) => m.type === 'budget');
    expect(stop).toMatchObject({ type: 'budget', taskId: task.id, cloneId: clone!.id, message: expect.stringMatching(/token budget of 5000/) });

    const requests = await new PgGatewayStore(a.ctx.store.pool).listGatewayRequests(task.id);
    expect(requests.some((r) => r.status === 402)).toBe(true);
    const used = requests.reduce((n, r) => n + countedTokens(r), 0);
    expect(used).toBeGreaterThanOrEqual(BUDGET);
    expect(used).toBeLessThanOrEqual(BUDGET + countedTokens(MOCK_USAGE.toolTurn));
    const kept = await runGit(['show', `${clone!.headCommit}:progress.txt`], { cwd: task.repo, allowFail: true });
    expect(kept.stdout).toBe('hello from mock\n');
    const events = await a.ctx.store.listEvents(task.id);
    expect(events.map((e) => e.type)).toContain('budget_exceeded');
    expectMeteredFinish([clone!], events);

    // The gateway kept the task's totals while it ran, and lets them go now that it has ended.
    const store = new PgGatewayStore(a.ctx.store.pool);
    expect(server.gateway.budgets.taskIds()).toContain(task.id);
    expect(await server.gateway.budgets.sweep((ids) => store.endedTasks(ids))).toContain(task.id);
    expect(server.gateway.budgets.taskIds()).not.toContain(task.id);
  }, 180_000);
});

describe('a budget stop whose message is lost', () => {
  it('still ends the clone budget_exceeded, from the refusal the gateway recorded', async () => {
    const { databaseUrl, server } = await standaloneGateway();
    let dropped = 0;
    // This worker never hears the gateway's stop, as when a NOTIFY is lost.
    const deaf = await worker(databaseUrl, server.gateway.url, (kage) => {
      const listen = kage.ctx.store.listen.bind(kage.ctx.store);
      kage.ctx.store.listen = (channel, handler) => listen(channel, (payload) => {
        if (channel === CONTROL_CHANNEL && JSON.parse(payload).type === 'budget') dropped += 1;
        else handler(payload);
      });
    });
    const { task } = await deaf.tasks.createTask({
      description: 'keep going [[mock:loop file=progress.txt]]', repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
      tokenBudget: 3000, clones: [{ agent: 'claude-code', model: 'claude-sonnet-4-5', timeoutSeconds: 120 }],
    });
    const [clone] = await finished(deaf, task.id);
    expect(dropped).toBe(1);
    expect(clone!.status, clone!.error ?? '').toBe('budget_exceeded');
    expect(clone!.error).toMatch(/token budget of 3000 exhausted/);
    const kept = await runGit(['show', `${clone!.headCommit}:progress.txt`], { cwd: task.repo, allowFail: true });
    expect(kept.stdout).toBe('hello from mock\n');
  }, 180_000);
});

describe('a gateway URL that does not answer as a kage gateway', () => {
  let silent: Server;
  let silentUrl: string;

  beforeAll(async () => {
    // Accepts connections and never answers.
    const sockets = new Set<Socket>();
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    closeLater.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
  });

  async function startError(url: string): Promise<unknown> {
    const databaseUrl = await freshDatabase();
    return createKage(testConfig({ databaseUrl, env: { KAGE_GATEWAY_URL: url } })).then(async (kage) => {
      await kage.close();
      return null;
    }, (err: unknown) => err);
  }

  it('stops a process that runs clones at start, naming gateway.url, whether nothing listens, something else answers or nothing answers', async () => {
    const closed = await startError('http://127.0.0.1:9');
    expect(isKageError(closed, 'KAGE_GATEWAY_UNREACHABLE')).toBe(true);
    expect(closed).toMatchObject({ field: 'gateway.url', message: expect.stringMatching(/http:\/\/127\.0\.0\.1:9 \(`gateway\.url`, KAGE_GATEWAY_URL\) cannot be reached: ECONNREFUSED/) });

    const other = await startError(mock.url);
    expect(other).toMatchObject({ code: 'KAGE_GATEWAY_UNREACHABLE', message: expect.stringMatching(/is not a kage gateway/) });

    const started = Date.now();
    const hung = await startError(silentUrl);
    expect(hung).toMatchObject({ code: 'KAGE_GATEWAY_UNREACHABLE', message: expect.stringMatching(/did not answer within 5 s/) });
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('makes `kage worker` exit at once with the error, while a command that runs no clone works', async () => {
    const env = { KAGE_HOME: tempDir('remote-cli'), DATABASE_URL: await freshDatabase(), KAGE_GATEWAY_URL: 'http://127.0.0.1:9' };
    const run = await kageCli(['worker', '--exit-when-idle'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/LLM gateway at http:\/\/127\.0\.0\.1:9 .*cannot be reached.*\[KAGE_GATEWAY_UNREACHABLE\]/);
    const status = await kageCli(['status'], env);
    expect(status.code, status.stderr).toBe(0);
  }, 60_000);
});
