// A task's own USD budget, through the API and `kage run`: refused when it is not a positive amount, shown in
// the task record, and enforced by the gateway on the metered cost like the token budget (the genuine Claude
// Code CLI on the mock's endless tool loop, priced by the built-in table).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type KageServer } from '../src/main/server.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { runGit } from '../src/workspace/git.js';
import { freshDatabase, kageCli, makeRepo, openKage, tempDir, testConfig, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';

const KEY = 'usd-budget-test-key-0123';

let mock: MockModelServer;
let server: KageServer;

async function api(path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  mock = await startMockModelServer();
  server = await startServer(testConfig({
    databaseUrl: await freshDatabase(),
    env: { ...mockProviderEnv(mock.url), KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: await makeRepo() },
  }));
});

afterAll(async () => {
  await server?.close({ graceMs: 0 });
  await mock?.close();
});

describe('usd_budget in the API', () => {
  it('answers 422 naming `usd_budget` for an amount that is not positive or not a number', async () => {
    for (const bad of [0, -0.5, 'lots', 5_000_000]) {
      const answer = await api('/api/v1/tasks', { description: 'a task with a bad budget', cli_assignments: [{ cli_name: 'fake' }], usd_budget: bad });
      expect(answer.status, JSON.stringify(answer.body)).toBe(422);
      expect(answer.body).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'usd_budget' });
      expect(answer.body.message).toMatch(/`usd_budget`/);
    }
  });

  it('ends a clone whose share of the USD budget is spent budget_exceeded, with its work kept, and shows the budget in the task record', async () => {
    const created = await api('/api/v1/tasks', {
      description: 'keep going [[mock:loop file=spent.txt]]',
      cli_assignments: [{ cli_name: 'claude-code', model: 'claude-sonnet-4-5', timeout: 120 }],
      usd_budget: 0.01, token_budget: 1_000_000, merge_strategy: 'manual', max_retries: 0,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ usd_budget: 0.01, token_budget: 1_000_000 });
    const task = await waitFor('the task to finish', async () => {
      const { body } = await api(`/api/v1/tasks/${created.body.id}`);
      return ['completed', 'failed', 'cancelled'].includes(body.status) ? body : undefined;
    }, 150_000);
    const clone = task.clones[0];
    expect(clone.status, clone.error ?? '').toBe('budget_exceeded');
    expect(clone.error).toMatch(/budget of \$0\.01 exhausted for clone/);
    expect(task.usd_budget).toBe(0.01);

    // Refused once the metered cost reached the budget, within one request of it.
    const requests = await new PgGatewayStore(server.kage.ctx.store.pool).listGatewayRequests(task.id);
    const refused = requests.filter((r) => r.status === 402);
    expect(refused.length).toBeGreaterThan(0);
    const answered = requests.filter((r) => r.status === 200);
    const spent = answered.reduce((n, r) => n + r.costUsd, 0);
    expect(spent).toBeGreaterThanOrEqual(0.01);
    expect(spent).toBeLessThan(0.01 + Math.max(...answered.map((r) => r.costUsd)) + 1e-9);
    expect(clone.metered.costUsd).toBeCloseTo(spent, 12);

    const events = (await server.kage.ctx.store.listEvents(task.id)).map((e) => e.type);
    expect(events.indexOf('budget_warning')).toBeGreaterThan(-1);
    expect(events.indexOf('budget_exceeded')).toBeLessThan(events.indexOf('clone_finished'));
    const repo = (await server.kage.ctx.store.getTask(task.id))!.repo;
    const kept = await runGit(['show', `${task.clones[0].branch}:spent.txt`], { cwd: repo, allowFail: true });
    expect(kept.stdout).toBe('hello from mock\n');
  }, 180_000);
});

describe('kage run --usd-budget', () => {
  it('stores the budget on the task, and refuses an amount that is not positive', async () => {
    const env = { KAGE_HOME: tempDir('usd-cli'), DATABASE_URL: await freshDatabase(), KAGE_LOG_LEVEL: 'silent' };
    const repo = await makeRepo();
    const run = await kageCli(['run', 'write a file', '--repo', repo, '--agent', 'fake', '--usd-budget', '0.5', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ usdBudget: 0.5, status: 'completed' });
    const bad = await kageCli(['run', 'write a file', '--repo', repo, '--usd-budget', '-1'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Expected --usd-budget above 0 and at most 1000000, got "-1"/);
  }, 60_000);
});

describe('the budgets a task gets when it names none', () => {
  it('are this process\'s defaults, written into the task, so any gateway that serves it enforces the same', async () => {
    const repo = await makeRepo();
    const withDefaults = await openKage({ databaseUrl: await freshDatabase(), env: { KAGE_TOKEN_BUDGET: '1234', KAGE_USD_BUDGET: '0.5' } });
    try {
      const { task } = await withDefaults.tasks.createTask({ description: 'x', repo, clones: [{ agent: 'fake' }] });
      expect(task).toMatchObject({ tokenBudget: 1234, usdBudget: 0.5 });
      const own = await withDefaults.tasks.createTask({ description: 'x', repo, tokenBudget: 99, usdBudget: 0.25, clones: [{ agent: 'fake' }] });
      expect(own.task).toMatchObject({ tokenBudget: 99, usdBudget: 0.25 });
      expect(await withDefaults.ctx.store.getTask(task.id)).toMatchObject({ tokenBudget: 1234, usdBudget: 0.5 });
      await withDefaults.runtime.idle(30_000);
    } finally {
      await withDefaults.close();
    }
    // Without the gateway nothing enforces a budget, and none is written.
    const off = await openKage({ databaseUrl: await freshDatabase(), env: { KAGE_GATEWAY: 'off', KAGE_TOKEN_BUDGET: '1234' } });
    try {
      const { task } = await off.tasks.createTask({ description: 'x', repo, clones: [{ agent: 'fake' }] });
      expect(task).toMatchObject({ tokenBudget: null, usdBudget: null });
    } finally {
      await off.close();
    }
  });
});
