// The default rate limit as v1 promised it, at full scale: 50 requests per minute for a provider, four clones
// of the genuine Claude Code CLI that together need more than 50 requests to it, kage's gateway in front of
// the mock model server (windows shortened for speed are tested in gateway-limits.test.ts). No 60-second window of what the mock received holds more than 50 requests, and every
// clone succeeds: over the limit they wait, they do not fail. Takes a little over a minute by design.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isTerminalTask } from '../src/domain/index.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { freshDatabase, makeRepo, openKage, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';
import type { Kage } from '../src/main/app.js';

let mock: MockModelServer;
let kage: Kage | null = null;

beforeAll(async () => {
  mock = await startMockModelServer({ scenario: 'text' });
});

afterAll(async () => {
  await kage?.close();
  await mock?.close();
});

/** The most requests any window of `windowMs` (ending at a request) holds. */
function busiestWindow(times: number[], windowMs: number): number {
  return Math.max(...times.map((t) => times.filter((s) => s > t - windowMs && s <= t).length));
}

describe('the default rate limit', () => {
  it('holds four clones to 50 requests in every 60-second window, and none of them fails', async () => {
    // 14 tool turns and a final answer make at least 15 requests a clone (Claude Code adds side calls): 60+ in all.
    kage = await openKage({ databaseUrl: await freshDatabase(), env: {
      ...mockProviderEnv(mock.url), KAGE_AGENTS_DIR: inject('agentsDir'), MAX_REQUESTS_PER_MINUTE: '50',
    } });
    expect(kage.config.rateLimits.providers.anthropic).toMatchObject({ requestsPerMinute: 50 });
    expect(kage.config.rateLimits.windowMs).toBe(60_000);
    await kage.runtime.start(4);
    mock.clearRequests();
    const { task } = await kage.tasks.createTask({
      description: 'keep working [[mock:loop turns=14]]', repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
      tokenBudget: 10_000_000,
      clones: [1, 2, 3, 4].map(() => ({ agent: 'claude-code', timeoutSeconds: 240 })),
    });
    const done = await waitFor('the task to finish', async () => {
      const t = await kage!.ctx.store.getTask(task.id);
      return t && isTerminalTask(t.status) ? t : undefined;
    }, 240_000);
    expect(done.status).not.toBe('failed');
    const clones = await kage.ctx.store.getClones(task.id);
    expect(clones.map((c) => `${c.name}: ${c.status} ${c.error ?? ''}`.trim())).toEqual(clones.map((c) => `${c.name}: succeeded`));

    const times = mock.requests().map((r) => Date.parse(r.time)).sort((a, b) => a - b);
    // More than the limit in all, so that the limit had something to hold back.
    expect(times.length).toBeGreaterThan(50);
    expect(busiestWindow(times, 60_000)).toBeLessThanOrEqual(50);
    const events = await kage.ctx.store.listEvents(task.id);
    expect(events.filter((e) => e.type === 'gateway_rate_limited').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'gateway_request').every((e) => e.payload.status === 200)).toBe(true);
  }, 300_000);
});
