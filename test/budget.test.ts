// Budgets enforced live by the gateway, with the genuine CLIs against kage's mock model server whose `loop`
// scenario calls tools forever: the clone is refused once its token budget is spent, stopped as
// `budget_exceeded` with its work so far on its branch, and its metered usage stays within one request of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalTask } from '../src/domain/index.js';
import { countedTokens } from '../src/gateway/budget.js';
import type { Kage } from '../src/main/app.js';
import { MOCK_USAGE, startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { runGit } from '../src/workspace/git.js';
import { freshDatabase, makeRepo, openKage, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';

const BUDGET = 5000;

let mock: MockModelServer;
let kage: Kage;

beforeAll(async () => {
  mock = await startMockModelServer();
  kage = await openKage({
    databaseUrl: await freshDatabase(),
    env: mockProviderEnv(mock.url),
  });
  await kage.runtime.start(4);
});

afterAll(async () => {
  await kage?.close();
  await mock?.close();
});

describe.each([
  { agent: 'claude-code', model: null },
  { agent: 'codex', model: 'mock-model' },
])('$agent over its token budget', ({ agent, model }) => {
  it('is refused by the gateway, ends budget_exceeded after a warning, keeps its work on its branch and stays within one request of the budget', async () => {
    const repo = await makeRepo();
    const { task } = await kage.tasks.createTask({
      description: 'keep going [[mock:loop file=progress.txt]]',
      repo,
      maxRetries: 0,
      mergeStrategy: 'manual',
      tokenBudget: BUDGET,
      clones: [{ agent, ...(model ? { model } : {}), timeoutSeconds: 120 }],
    });
    await waitFor(`task ${task.id} to finish`, async () => {
      const t = await kage.ctx.store.getTask(task.id);
      return t && isTerminalTask(t.status) ? t : undefined;
    }, 150_000);
    const clone = (await kage.ctx.store.getClones(task.id))[0]!;
    expect(clone.status, clone.error ?? '').toBe('budget_exceeded');
    expect(clone.error).toMatch(/token budget of 5000 exhausted/);

    const requests = await new PgGatewayStore(kage.ctx.store.pool).listGatewayRequests(task.id);
    const refused = requests.filter((r) => r.status === 402);
    expect(refused.length).toBeGreaterThan(0);
    const used = requests.reduce((n, r) => n + countedTokens(r), 0);
    expect(used).toBeGreaterThanOrEqual(BUDGET);
    expect(used).toBeLessThanOrEqual(BUDGET + countedTokens(MOCK_USAGE.toolTurn));

    const stored = await kage.ctx.store.listEvents(task.id);
    // The CLI read the gateway's refusal in its provider's error shape and reported it.
    expect(stored.some((e) => e.type.startsWith('agent_') && JSON.stringify(e.payload).includes('token budget of 5000 exhausted'))).toBe(true);
    const events = stored.map((e) => e.type);
    expect(events.indexOf('budget_warning')).toBeGreaterThan(-1);
    expect(events.indexOf('budget_warning')).toBeLessThan(events.indexOf('budget_exceeded'));
    expect(events.indexOf('budget_exceeded')).toBeLessThan(events.indexOf('clone_finished'));

    expect(clone.headCommit).not.toBeNull();
    const kept = await runGit(['show', `${clone.headCommit}:progress.txt`], { cwd: task.repo, allowFail: true });
    expect(kept.stdout).toBe('hello from mock\n');
    expect(clone.diff?.files).toContain('progress.txt');
  });
});
