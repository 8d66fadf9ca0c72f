import { describe, expect, it } from 'vitest';
import type { GatewayGrant, GatewayRequestRecord } from '../domain/index.js';
import { budgetLimits } from '../main/budgets.js';
import { admission, countedTokens, createBudgetGuard, type BudgetGuardOptions, type BudgetLimits, type BudgetNotice } from './budget.js';
import type { GatewayRequestInfo } from './steps.js';

const TASK = 'task-1';
const grant = (cloneId: string | null): GatewayGrant => ({ taskId: TASK, cloneId });
const info = (g: GatewayGrant): GatewayRequestInfo => ({ grant: g, provider: 'anthropic', model: 'm', method: 'POST', path: '/v1/messages', bodyBytes: 10 });
/** One of the mock's tool turns as metered from Anthropic: counts 1111 + 22 + 8 = 1141. */
function metered(g: GatewayGrant, tokens = { inputTokens: 1111, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 8 }, costUsd = 0): GatewayRequestRecord {
  return { ...g, ...tokens, provider: 'anthropic', model: 'm', method: 'POST', path: '/v1/messages', status: 200, stream: true, costUsd,
    latencyMs: 1, ttfbMs: 1, startedAt: new Date(), error: null };
}

function guard(limits: BudgetLimits | null, extra: Partial<BudgetGuardOptions> = {}) {
  const warnings: BudgetNotice[] = [];
  const exhausted: { notice: BudgetNotice; message: string }[] = [];
  let loads = 0;
  const g = createBudgetGuard({
    limitsFor: async () => {
      loads += 1;
      return limits;
    },
    spentSoFar: async () => ({ tokens: 0, costUsd: 0 }),
    onWarning: (n) => warnings.push(n),
    onExhausted: (notice, message) => void exhausted.push({ notice, message }),
    ...extra,
  });
  /** Admits one request and meters it at once; returns the rejection, if any. */
  async function request(cloneId: string | null, record?: GatewayRequestRecord) {
    const req = info(grant(cloneId));
    const rejection = await g.step(req, new AbortController().signal);
    g.onMetered(record ?? metered(grant(cloneId)), req);
    return rejection;
  }
  return { g, warnings, exhausted, request, loads: () => loads };
}

describe('countedTokens', () => {
  it('counts input, output and cache writes, not cache reads', () => {
    expect(countedTokens({ inputTokens: 1111, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 8 })).toBe(1141);
  });
});

describe('admission', () => {
  const limits: BudgetLimits = { scope: 'clone', maxTokens: 5000, maxCostUsd: null };
  const state = (tokens: number, inFlight: number, largest: number) => ({ spent: { tokens, costUsd: 0 }, inFlight, largest: { tokens: largest, costUsd: 0 } });

  it('rejects at the budget, admits a lone request below it, and holds one back when in-flight ones may use the rest', () => {
    expect(admission(state(5000, 0, 1000), limits)).toBe('reject');
    expect(admission(state(4999, 0, 1000), limits)).toBe('admit');
    expect(admission(state(2000, 2, 1000), limits)).toBe('admit');
    expect(admission(state(3000, 2, 1000), limits)).toBe('wait');
  });

  it('applies the USD limit the same way', () => {
    const usd: BudgetLimits = { scope: 'task', maxTokens: null, maxCostUsd: 1 };
    expect(admission({ spent: { tokens: 1e9, costUsd: 0.99 }, inFlight: 0, largest: { tokens: 0, costUsd: 0.5 } }, usd)).toBe('admit');
    expect(admission({ spent: { tokens: 0, costUsd: 1 }, inFlight: 0, largest: { tokens: 0, costUsd: 0 } }, usd)).toBe('reject');
  });
});

describe('the budget guard', () => {
  it('lets requests through until the clone has used its budget, then rejects with a 402 naming the budget, once exhausted per clone', async () => {
    const t = guard({ scope: 'clone', maxTokens: 5000, maxCostUsd: null });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await t.request('a'));
    // 4 × 1141 = 4564 < 5000 admits a 5th; 5705 is over: the 6th and 7th are refused.
    expect(results.map((r) => r?.status ?? 200)).toEqual([200, 200, 200, 200, 200, 402, 402]);
    expect(results[5]!.message).toBe('kage: token budget of 5000 exhausted for clone a (5705 used)');
    expect(t.exhausted).toHaveLength(1);
    expect(t.exhausted[0]!.notice).toMatchObject({ grant: { cloneId: 'a' }, spent: { tokens: 5705 } });
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]!.spent.tokens).toBe(4564); // the first total at or above 80 %
    expect(await t.request('b')).toBeNull(); // another clone has its own budget
    expect(t.loads()).toBe(2);
  });

  it('starts from what the store says was spent before', async () => {
    const t = guard({ scope: 'clone', maxTokens: 5000, maxCostUsd: null }, { spentSoFar: async () => ({ tokens: 4990, costUsd: 0 }) });
    expect(await t.request('a')).toBeNull();
    expect((await t.request('a'))?.status).toBe(402);
  });

  it('draws every clone of a shared budget from one pool, and stops each clone on its own first rejection', async () => {
    const t = guard({ scope: 'task', maxTokens: 2000, maxCostUsd: null });
    expect(await t.request('a')).toBeNull();
    expect(await t.request('b')).toBeNull();
    expect((await t.request('a'))?.message).toBe(`kage: token budget of 2000 exhausted for task ${TASK} (2282 used)`);
    expect((await t.request('b'))?.status).toBe(402);
    expect(t.exhausted.map((e) => e.notice.grant.cloneId)).toEqual(['a', 'b']);
    expect(t.warnings.map((w) => w.grant)).toEqual([{ taskId: TASK, cloneId: null }]);
  });

  it('holds a concurrent request until the in-flight one is metered, so the overshoot stays within one request', async () => {
    const t = guard({ scope: 'clone', maxTokens: 3000, maxCostUsd: null });
    expect(await t.request('a')).toBeNull(); // 1141 spent; the largest request so far is 1141
    const first = info(grant('a'));
    expect(await t.g.step(first, new AbortController().signal)).toBeNull();
    const second = info(grant('a'));
    let settled: unknown = 'pending';
    const waiting = Promise.resolve(t.g.step(second, new AbortController().signal)).then((r) => (settled = r));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe('pending'); // 1141 + 2 × 1141 > 3000
    t.g.onMetered(metered(grant('a')), first); // 2282: still below, so it goes
    await waiting;
    expect(settled).toBeNull();
    t.g.onMetered(metered(grant('a')), second); // 3423: at most one request over
    expect((await t.request('a'))?.status).toBe(402);
  });

  it('stops waiting when the client goes away, without counting the request', async () => {
    const t = guard({ scope: 'clone', maxTokens: 2000, maxCostUsd: null });
    expect(await t.request('a')).toBeNull();
    const held = info(grant('a'));
    await t.g.step(held, new AbortController().signal);
    const gone = new AbortController();
    const waiting = t.g.step(info(grant('a')), gone.signal);
    gone.abort();
    expect(await waiting).toBeNull();
    t.g.onMetered(metered(grant('a'), { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }), held);
    expect(await t.request('a')).toBeNull(); // 1141 spent, nothing in flight
  });

  it('refuses on the USD budget', async () => {
    const t = guard({ scope: 'clone', maxTokens: null, maxCostUsd: 0.01 });
    expect(await t.request('a', metered(grant('a'), undefined, 0.012))).toBeNull();
    expect((await t.request('a'))?.message).toBe('kage: budget of $0.01 exhausted for clone a ($0.0120 used)');
  });

  it('does nothing for a grant without limits', async () => {
    const t = guard(null);
    for (let i = 0; i < 100; i++) expect(await t.request('a')).toBeNull();
  });
  it('answers the first refusal only once its report is done, and later ones of the clone after it too', async () => {
    let finishReport!: () => void;
    const reported = new Promise<void>((resolve) => (finishReport = resolve));
    const t = guard({ scope: 'clone', maxTokens: 1000, maxCostUsd: null }, { onExhausted: () => reported });
    expect(await t.request('a')).toBeNull();
    const answers: string[] = [];
    const first = Promise.resolve(t.g.step(info(grant('a')), new AbortController().signal)).then(() => answers.push('first'));
    const second = Promise.resolve(t.g.step(info(grant('a')), new AbortController().signal)).then(() => answers.push('second'));
    await new Promise((r) => setImmediate(r));
    expect(answers).toEqual([]);
    finishReport();
    await Promise.all([first, second]);
    expect(answers).toEqual(['first', 'second']);
  });
});

describe('the budget guard over time', () => {
  const limits: BudgetLimits = { scope: 'clone', maxTokens: 5000, maxCostUsd: null };

  it('drops the totals of a task that ended and reads them from the store when it is seen again', async () => {
    let stored = { tokens: 0, costUsd: 0 };
    let seeds = 0;
    const t = guard(limits, { spentSoFar: async () => {
      seeds += 1;
      return stored;
    } });
    expect(await t.request('a')).toBeNull();
    expect(t.g.taskIds()).toEqual([TASK]);
    expect(await t.g.sweep(async () => [])).toEqual([]);
    expect(await t.g.sweep(async (ids) => ids)).toEqual([TASK]);
    expect(t.g.taskIds()).toEqual([]);
    // Another gateway metered 4000 more meanwhile: the store has 5141.
    stored = { tokens: 5141, costUsd: 0 };
    expect((await t.request('a'))?.status).toBe(402);
    expect(seeds).toBe(2);
  });

  it('drops a task idle for the idle time, but never one with a request in flight', async () => {
    let clock = 0;
    const t = guard(limits, { idleMs: 1000, now: () => clock });
    expect(await t.request('a')).toBeNull();
    const inFlight = info(grant('b'));
    expect(await t.g.step(inFlight, new AbortController().signal)).toBeNull();
    clock = 5000;
    expect(await t.g.sweep()).toEqual([]);
    t.g.onMetered(metered(grant('b')), inFlight);
    clock = 5999;
    expect(await t.g.sweep()).toEqual([]);
    clock = 6000;
    expect(await t.g.sweep()).toEqual([TASK]);
  });
});

describe('budgetLimits', () => {
  const config = { taskTokens: 50_000, warningThreshold: 0.8, split: 'split' as const, taskUsd: null };

  it('splits the task\'s own budget, else the default, equally across its clones', () => {
    expect(budgetLimits(config, { tokenBudget: null, clones: 3 }, true)).toEqual({ scope: 'clone', maxTokens: 16_666, maxCostUsd: null });
    expect(budgetLimits(config, { tokenBudget: 5000, clones: 1 }, true)).toEqual({ scope: 'clone', maxTokens: 5000, maxCostUsd: null });
    expect(budgetLimits({ ...config, taskUsd: 3 }, { tokenBudget: 900, clones: 3 }, true)).toEqual({ scope: 'clone', maxTokens: 300, maxCostUsd: 1 });
  });

  it('gives a shared budget, and traffic of no clone, the whole task\'s; none when nothing is limited', () => {
    expect(budgetLimits({ ...config, split: 'shared' }, { tokenBudget: 5000, clones: 3 }, true)).toEqual({ scope: 'task', maxTokens: 5000, maxCostUsd: null });
    expect(budgetLimits(config, { tokenBudget: 5000, clones: 3 }, false)).toMatchObject({ scope: 'task', maxTokens: 5000 });
    expect(budgetLimits({ ...config, taskTokens: null }, { tokenBudget: null, clones: 3 }, true)).toBeNull();
  });
});
