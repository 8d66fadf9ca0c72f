// The budget guard as kage runs it: each clone's limits from its task's `tokenBudget` and `usdBudget` (else the
// configured defaults), split equally across the task's clones or shared; what was spent before from the
// metered rows; `budget_warning` and `budget_exceeded` events; the clone stopped when its budget is gone; and the
// totals of tasks that ended dropped once a minute.
import type { BudgetConfig } from '../config/config.js';
import type { EventLog } from '../events/event-log.js';
import { countedTokens, createBudgetGuard, type BudgetGuard, type BudgetLimits, type BudgetNotice } from '../gateway/budget.js';
import type { PgGatewayStore } from '../store/gateway-store.js';

/** The limits of one clone (or of the task, for a shared budget) from what the task and config say. */
export function budgetLimits(config: BudgetConfig, task: { tokenBudget: number | null; usdBudget?: number | null; clones: number },
  hasClone: boolean): BudgetLimits | null {
  const tokens = task.tokenBudget ?? config.taskTokens;
  const usd = task.usdBudget ?? config.taskUsd;
  if (tokens === null && usd === null) return null;
  if (config.split === 'shared' || !hasClone) return { scope: 'task', maxTokens: tokens, maxCostUsd: usd };
  const clones = Math.max(1, task.clones);
  return {
    scope: 'clone',
    maxTokens: tokens === null ? null : Math.floor(tokens / clones),
    maxCostUsd: usd === null ? null : usd / clones,
  };
}

function payload(notice: BudgetNotice): Record<string, unknown> {
  return { scope: notice.limits.scope, maxTokens: notice.limits.maxTokens, usedTokens: notice.spent.tokens,
    maxCostUsd: notice.limits.maxCostUsd, costUsd: notice.spent.costUsd };
}

/** How often the gateway drops the budget totals of tasks that ended or went idle. */
const SWEEP_MS = 60_000;

export interface KageBudgetGuard extends BudgetGuard {
  /** Stops the periodic sweep. */
  close(): void;
}

/**
 * `stopClone` is told about the first refusal of each clone; the refusal reaches the client once it resolves
 * (a gateway in another process than the clone publishes the stop, see gateway-server.ts).
 */
export function createKageBudgetGuard(config: BudgetConfig, store: PgGatewayStore, events: EventLog,
  stopClone: (clone: { taskId: string; cloneId: string }, message: string) => void | Promise<void>): KageBudgetGuard {
  const guard = createBudgetGuard({
    warningThreshold: config.warningThreshold,
    // Read from the task row, so any gateway enforces what the task says, whichever process created it.
    async limitsFor(grant) {
      const task = await store.taskBudget(grant.taskId);
      return task === null ? null : budgetLimits(config, task, grant.cloneId !== null);
    },
    async spentSoFar(grant, scope) {
      const usage = await store.gatewayUsage(grant.taskId);
      const totals = scope === 'task' ? usage.total : usage.clones.find((c) => c.cloneId === grant.cloneId);
      return totals === undefined ? { tokens: 0, costUsd: 0 } : { tokens: countedTokens(totals), costUsd: totals.costUsd };
    },
    onWarning: (notice) => events.emit(notice.grant.taskId, notice.grant.cloneId, 'budget_warning',
      { ...payload(notice), threshold: config.warningThreshold }),
    onExhausted(notice, message) {
      events.emit(notice.grant.taskId, notice.grant.cloneId, 'budget_exceeded', { ...payload(notice), message });
      const { taskId, cloneId } = notice.grant;
      return cloneId === null ? undefined : stopClone({ taskId, cloneId }, message);
    },
  });
  const sweep = setInterval(() => void guard.sweep((ids) => store.endedTasks(ids)).catch(() => undefined), SWEEP_MS);
  sweep.unref();
  return { ...guard, close: () => clearInterval(sweep) };
}
