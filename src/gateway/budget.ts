// Token and USD budgets enforced on the request path: a gateway step that rejects a clone's request once its
// budget (its own share, or the task's shared pool) is spent, with running totals kept in memory (seeded
// once from the store, then updated as each request is metered), a warning at a threshold, and a wait that
// keeps concurrent requests from overshooting. A task's totals are dropped when it ends or has been idle a
// while, so a gateway that runs for months keeps only the tasks in progress; a task seen again is read from
// the store again.
//
// What counts: input tokens (without the cached part) + output tokens + cache writes, i.e. every token the
// model newly processed or produced. Cache reads are left out: they re-read a prompt already counted when it
// was written (billed at about a tenth), and counting them would spend a budget on a long conversation just
// by resending its cached prefix every turn. The USD budget counts the metered cost, cache reads included.
import type { GatewayGrant, GatewayRequestRecord, Usage } from '../domain/index.js';
import type { GatewayRejection, GatewayRequestInfo, GatewayStep } from './steps.js';

export interface BudgetLimits {
  /** `clone`: the clone has its own budget; `task`: all the task's clones draw on one. */
  scope: 'clone' | 'task';
  /** Null: no token limit. */
  maxTokens: number | null;
  /** Null: no cost limit. */
  maxCostUsd: number | null;
}

export interface BudgetSpent {
  tokens: number;
  costUsd: number;
}

/** What a budget event reports. */
export interface BudgetNotice {
  grant: GatewayGrant;
  limits: BudgetLimits;
  spent: BudgetSpent;
}

export interface BudgetGuardOptions {
  /** The limits that apply to a grant; null when it has none. Asked once per clone while its task's totals are kept. */
  limitsFor(grant: GatewayGrant): Promise<BudgetLimits | null>;
  /** What the scope spent before this process saw it (earlier attempts, another process). */
  spentSoFar(grant: GatewayGrant, scope: BudgetLimits['scope']): Promise<BudgetSpent>;
  /** Fraction of a budget at which `onWarning` fires once per scope; default 0.8. */
  warningThreshold?: number;
  onWarning?(notice: BudgetNotice): void;
  /**
   * The first rejection per clone (per grant without a clone): the supervisor stops that clone. The refusal
   * goes to the client once it resolves, so whatever it records is there before the client can react.
   */
  onExhausted?(notice: BudgetNotice, message: string): void | Promise<void>;
  /** A task with no request for this long has its totals dropped by `sweep`; default 10 minutes. */
  idleMs?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

export interface BudgetGuard {
  /** The gateway step; put it first, so that a request it admits is the one it later sees metered. */
  step: GatewayStep;
  /** Every metered request with the request info its steps saw (GatewayOptions.onMetered). */
  onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void;
  /**
   * Drops the totals of the tasks idle for `idleMs` and of those `ended` reports as ended, except while a
   * request of theirs is in the guard or in flight. Returns the ids dropped.
   */
  sweep(ended?: (taskIds: string[]) => Promise<string[]>): Promise<string[]>;
  /** The tasks whose totals are kept. */
  taskIds(): string[];
}

/** Tokens a request counts against a budget (see the header). */
export function countedTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheWriteTokens;
}

/** A scope's running state; exported for the pure `admission` decision. */
export interface BudgetState {
  spent: BudgetSpent;
  /** Requests admitted and not metered yet. */
  inFlight: number;
  /** The largest one request has counted so far: the guess for what an in-flight one will add. */
  largest: BudgetSpent;
}

/**
 * `reject` once a limit is reached; `admit` when nothing else is in flight, or when there is room for every
 * in-flight request and this one at the size of the largest so far; else `wait` for one to be metered. That
 * bounds the overshoot to about one request even when clones of a shared budget send at once.
 */
export function admission(state: BudgetState, limits: BudgetLimits): 'admit' | 'wait' | 'reject' {
  const over = (limit: number | null, spent: number): boolean => limit !== null && spent >= limit;
  if (over(limits.maxTokens, state.spent.tokens) || over(limits.maxCostUsd, state.spent.costUsd)) return 'reject';
  if (state.inFlight === 0) return 'admit';
  const room = (limit: number | null, spent: number, largest: number): boolean => limit === null || spent + (state.inFlight + 1) * largest <= limit;
  return room(limits.maxTokens, state.spent.tokens, state.largest.tokens) && room(limits.maxCostUsd, state.spent.costUsd, state.largest.costUsd)
    ? 'admit' : 'wait';
}

/** Whether spending moved from below `threshold` of a limit to at or above it. */
export function crossed(limit: number | null, before: number, after: number, threshold: number): boolean {
  return limit !== null && before < limit * threshold && after >= limit * threshold;
}

export function budgetMessage(grant: GatewayGrant, limits: BudgetLimits, spent: BudgetSpent): string {
  const whose = limits.scope === 'task' || grant.cloneId === null ? `task ${grant.taskId}` : `clone ${grant.cloneId}`;
  if (limits.maxTokens !== null && spent.tokens >= limits.maxTokens) {
    return `kage: token budget of ${limits.maxTokens} exhausted for ${whose} (${spent.tokens} used)`;
  }
  return `kage: budget of $${limits.maxCostUsd} exhausted for ${whose} ($${spent.costUsd.toFixed(4)} used)`;
}

/** The status of a budget rejection: not 429, which clients retry; a 4xx they give up on and show. */
export const BUDGET_REJECTION_STATUS = 402;

interface Scope extends BudgetState {
  limits: BudgetLimits;
  warned: boolean;
  wake: Set<() => void>;
}

/** What the guard keeps about one task, dropped as a whole. */
interface TaskBudgets {
  /** Limits by clone id (`task` for traffic of no clone): promises, so concurrent first requests load each once. */
  limits: Map<string, Promise<BudgetLimits | null>>;
  /** Scopes by `clone:<id>` or `task`. */
  scopes: Map<string, Promise<Scope>>;
  /** Clones (or `task`) whose first rejection was reported, with the report (later rejections wait for it too). */
  exhausted: Map<string, Promise<void>>;
  /** Requests in the step or admitted and not metered yet: the task is not dropped meanwhile. */
  busy: number;
  lastSeenAt: number;
}

const DEFAULT_IDLE_MS = 10 * 60_000;

export function createBudgetGuard(options: BudgetGuardOptions): BudgetGuard {
  const threshold = options.warningThreshold ?? 0.8;
  const now = options.now ?? Date.now;
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const tasks = new Map<string, TaskBudgets>();
  const admitted = new WeakMap<GatewayRequestInfo, { task: TaskBudgets; scope: Scope }>();

  function taskOf(taskId: string): TaskBudgets {
    let task = tasks.get(taskId);
    if (task === undefined) {
      task = { limits: new Map(), scopes: new Map(), exhausted: new Map(), busy: 0, lastSeenAt: now() };
      tasks.set(taskId, task);
    }
    return task;
  }

  function once<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let value = map.get(key);
    if (value === undefined) {
      value = load();
      map.set(key, value);
      value.catch(() => map.delete(key)); // a failed store read is retried by the next request
    }
    return value;
  }

  async function scopeOf(task: TaskBudgets, grant: GatewayGrant): Promise<Scope | null> {
    const limits = await once(task.limits, grant.cloneId ?? 'task', () => options.limitsFor(grant));
    if (limits === null || (limits.maxTokens === null && limits.maxCostUsd === null)) return null;
    const shared = limits.scope === 'task' || grant.cloneId === null;
    return once(task.scopes, shared ? 'task' : `clone:${grant.cloneId}`, async () => ({
      limits, spent: { ...(await options.spentSoFar(grant, shared ? 'task' : 'clone')) }, inFlight: 0,
      largest: { tokens: 0, costUsd: 0 }, warned: false, wake: new Set<() => void>(),
    }));
  }

  function waitForChange(scope: Scope, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        scope.wake.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      scope.wake.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  const step: GatewayStep = async (request, signal) => {
    const task = taskOf(request.grant.taskId);
    task.busy += 1;
    task.lastSeenAt = now();
    let admittedHere = false;
    try {
      const scope = await scopeOf(task, request.grant);
      if (scope === null) return null;
      for (;;) {
        const verdict = admission(scope, scope.limits);
        if (verdict === 'admit') {
          scope.inFlight += 1;
          admitted.set(request, { task, scope });
          admittedHere = true;
          return null;
        }
        if (verdict === 'reject') return await reject(task, request.grant, scope);
        if (signal.aborted) return null; // gone while the scope was loading: an abort event will not come again
        await waitForChange(scope, signal);
        if (signal.aborted) return null;
      }
    } finally {
      if (!admittedHere) task.busy -= 1;
    }
  };

  async function reject(task: TaskBudgets, grant: GatewayGrant, scope: Scope): Promise<GatewayRejection> {
    const message = budgetMessage(grant, scope.limits, scope.spent);
    const key = grant.cloneId ?? 'task';
    let reported = task.exhausted.get(key);
    if (reported === undefined) {
      // A failure to record it must not turn the refusal into an error: the refusal itself stands.
      reported = Promise.resolve(options.onExhausted?.({ grant, limits: scope.limits, spent: { ...scope.spent } }, message)).catch(() => undefined);
      task.exhausted.set(key, reported);
    }
    await reported;
    return { status: BUDGET_REJECTION_STATUS, message, headers: { 'x-kage-gateway-error': 'budget-exhausted' } };
  }

  function onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void {
    const entry = admitted.get(request);
    if (entry === undefined) return; // not admitted by this step: rejected, abandoned while waiting, or no budget
    admitted.delete(request);
    const { task, scope } = entry;
    task.busy -= 1;
    task.lastSeenAt = now();
    scope.inFlight -= 1;
    const tokens = countedTokens(record);
    const before = { ...scope.spent };
    scope.spent.tokens += tokens;
    scope.spent.costUsd += record.costUsd;
    scope.largest = { tokens: Math.max(scope.largest.tokens, tokens), costUsd: Math.max(scope.largest.costUsd, record.costUsd) };
    const { limits, spent } = scope;
    if (!scope.warned && (crossed(limits.maxTokens, before.tokens, spent.tokens, threshold)
      || crossed(limits.maxCostUsd, before.costUsd, spent.costUsd, threshold))) {
      scope.warned = true;
      options.onWarning?.({ grant: { taskId: record.taskId, cloneId: limits.scope === 'task' ? null : record.cloneId }, limits, spent: { ...spent } });
    }
    for (const wake of [...scope.wake]) wake();
  }

  async function sweep(ended?: (taskIds: string[]) => Promise<string[]>): Promise<string[]> {
    const idle = [...tasks].filter(([, task]) => task.busy === 0);
    const over = new Set(idle.length > 0 && ended !== undefined ? await ended(idle.map(([id]) => id)) : []);
    const dropped: string[] = [];
    const at = now();
    for (const [id, task] of idle) {
      // Looked at again: a request may have arrived while `ended` was asked.
      if (tasks.get(id) !== task || task.busy > 0 || (!over.has(id) && at - task.lastSeenAt < idleMs)) continue;
      tasks.delete(id);
      dropped.push(id);
    }
    return dropped;
  }

  return { step, onMetered, sweep, taskIds: () => [...tasks.keys()] };
}
