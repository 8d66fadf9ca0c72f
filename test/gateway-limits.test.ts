// Rate limits and upstream retries in the LLM gateway, in front of kage's mock model server: a 429 with
// Retry-After retried after it and hidden from the client, and four clones sending at once held to the limit
// in every window without any of them failing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isTerminalTask } from '../src/domain/index.js';
import { loadConfig } from '../src/config/config.js';
import type { EventLog } from '../src/events/event-log.js';
import { createGateway, createRateLimiter, type Gateway, type GatewayOptions } from '../src/gateway/index.js';
import { createKageRateLimiter, upstreamRetry } from '../src/main/rate-limits.js';
import { parseSse, postJson } from '../src/mock-model/mock-client.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { freshDatabase, makeRepo, openKage, tempDir, waitFor } from './support/harness.js';

const silent = pino({ level: 'silent' });
let mock: MockModelServer;
const closeLater: (() => Promise<void>)[] = [];

beforeAll(async () => {
  mock = await startMockModelServer({ scenario: 'text' });
});

afterAll(async () => {
  for (const close of closeLater) await close();
  await mock?.close();
});

async function openGateway(extra: Partial<GatewayOptions>): Promise<Gateway> {
  const gateway = await createGateway({ upstreams: { anthropic: { baseUrl: mock.url, apiKey: 'sk-ant-real' } }, store: null, log: silent, ...extra });
  closeLater.push(() => gateway.close());
  return gateway;
}

/** The events kage would store, as emitted. */
function recordingEvents(): EventLog & { emitted: { cloneId: string | null; type: string; payload: Record<string, unknown> }[] } {
  const emitted: { cloneId: string | null; type: string; payload: Record<string, unknown> }[] = [];
  const emit = (_task: string, cloneId: string | null, type: string, payload: Record<string, unknown> = {}): void => void emitted.push({ cloneId, type, payload });
  return { emitted, emit } as unknown as EventLog & { emitted: typeof emitted };
}

function ask(gateway: Gateway, token: string, text: string, stream = false): ReturnType<typeof postJson> {
  return postJson(`${gateway.url}/anthropic/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 100, stream, messages: [{ role: 'user', content: text }] },
    { 'x-api-key': token, 'anthropic-version': '2023-06-01' });
}

describe('upstream retry', () => {
  it('retries a 429 after its Retry-After of 2 s, and the client sees only the success', async () => {
    // The configured defaults (RATE_LIMIT_*), the limiter and the events as kage wires them.
    const config = loadConfig({ home: '/tmp/kage-limits-test' }, {});
    const events = recordingEvents();
    const limiter = createKageRateLimiter(config.rateLimits, events);
    const gateway = await openGateway({ steps: [limiter.step], onMetered: limiter.onMetered, retry: upstreamRetry(config.rateLimits, limiter, events) });
    const token = await gateway.issueToken({ taskId: 'task-retry', cloneId: 'clone-1' });
    mock.clearRequests();

    const started = Date.now();
    const answer = await ask(gateway, token, '[[mock:flaky status=429 times=1 retryAfter=2]] retry me', true);
    const elapsedMs = Date.now() - started;

    expect(answer.status).toBe(200);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(parseSse(answer.text).map((e) => e.event)).toContain('message_stop');
    const upstream = mock.requests();
    expect(upstream.map((r) => r.status)).toEqual([429, 200]);
    const gapMs = Date.parse(upstream[1]!.time) - Date.parse(upstream[0]!.time);
    expect(gapMs).toBeGreaterThanOrEqual(2000);
    expect(elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(events.emitted.filter((e) => e.type === 'gateway_retry')).toEqual([
      { cloneId: 'clone-1', type: 'gateway_retry', payload: { provider: 'anthropic', model: 'claude-sonnet-4-5', status: 429, delayMs: 2000, attempt: 1 } },
    ]);
  });

  it('passes the last 529 through once the retries are used up', async () => {
    const retries: number[] = [];
    const gateway = await openGateway({ retry: { maxRetries: 2, baseMs: 10, maxMs: 50, onRetry: (_r, retry) => retries.push(retry.attempt) } });
    const token = await gateway.issueToken({ taskId: 'task-retry', cloneId: 'clone-2' });
    mock.clearRequests();
    const answer = await ask(gateway, token, '[[mock:flaky status=529 times=5]] keeps failing');
    expect(answer.status).toBe(529);
    expect(retries).toEqual([1, 2]);
    expect(mock.requests()).toHaveLength(3);
  });
});

describe('rate limit across clones', () => {
  it('lets no window see more upstream requests than the limit while four clones send at once, and none fails', async () => {
    const windowMs = 1000;
    const limit = 4;
    const waits: { clone: string | null; state: string }[] = [];
    const limiter = createRateLimiter({
      limits: { anthropic: { requests: limit, tokens: null, windowMs, maxWaitMs: 30_000 } },
      onWait: (request, wait) => waits.push({ clone: request.grant.cloneId, state: wait.state }),
    });
    // One clone's first request is answered 429 without Retry-After: its retry takes a slot like any request.
    const gateway = await openGateway({ steps: [limiter.step], onMetered: limiter.onMetered,
      retry: { maxRetries: 5, baseMs: 50, maxMs: 200, beforeRetry: limiter.acquire } });
    const clones = ['c1', 'c2', 'c3', 'c4'];
    const tokens = await Promise.all(clones.map((cloneId) => gateway.issueToken({ taskId: 'task-limits', cloneId })));
    mock.clearRequests();

    const answers = await Promise.all(clones.flatMap((clone, i) => [0, 1, 2, 3].map((n) =>
      ask(gateway, tokens[i]!, clone === 'c1' && n === 0 ? '[[mock:flaky status=429 times=1]] c1 first' : `${clone} request ${n}`)
        .then((answer) => ({ clone, status: answer.status })))));

    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const times = mock.requests().map((r) => Date.parse(r.time)).sort((a, b) => a - b);
    expect(times).toHaveLength(17); // 16 requests and one retry
    // Counted where the provider counts them, however long each took to get there.
    expect(busiestWindow(times, windowMs)).toBeLessThanOrEqual(limit);
    // The queue really was used, by every clone.
    expect(new Set(waits.filter((w) => w.state === 'admitted').map((w) => w.clone))).toEqual(new Set(clones));
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3 * windowMs);
  });
});

/** The most of `times` (ms, sorted) that fall in any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  return Math.max(...times.map((t) => times.filter((s) => s > t - windowMs && s <= t).length));
}

describe('rate limit in kage', () => {
  it('holds four Claude Code clones of one task to the limit in every window, and all of them succeed', async () => {
    // 60 per minute counted over 2-second windows: 2 requests per 2 s.
    const dir = tempDir('limits');
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ rateLimits: { requestsPerMinute: 60, windowSeconds: 2 } }));
    const kage = await openKage({ databaseUrl: await freshDatabase(), env: {
      KAGE_CONFIG: configFile, KAGE_AGENTS_DIR: inject('agentsDir'), ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-mock-anthropic',
    } });
    closeLater.push(() => kage.close());
    await kage.runtime.start(4);
    mock.clearRequests();
    const { task } = await kage.tasks.createTask({
      description: 'create paced.txt [[mock:write file=paced.txt]]', repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
      clones: [1, 2, 3, 4].map(() => ({ agent: 'claude-code', timeoutSeconds: 120 })),
    });
    await waitFor('the paced task to finish', async () => {
      const t = await kage.ctx.store.getTask(task.id);
      return t && isTerminalTask(t.status) ? t : undefined;
    }, 120_000);
    const clones = await kage.ctx.store.getClones(task.id);
    expect(clones.map((c) => `${c.name}: ${c.status} ${c.error ?? ''}`.trim())).toEqual(clones.map((c) => `${c.name}: succeeded`));

    const times = mock.requests().map((r) => Date.parse(r.time)).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(4);
    expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(2);
    const events = await kage.ctx.store.listEvents(task.id);
    const waited = events.filter((e) => e.type === 'gateway_rate_limited');
    expect(waited.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'gateway_request').every((e) => e.payload.status === 200)).toBe(true);
  }, 180_000);
});
