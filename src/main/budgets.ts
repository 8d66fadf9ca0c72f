// The budget guard as kage runs it: each clone's limits from its task's `tokenBudget` (else the configured
// default) and USD budget, split equally across the task's clones or shared; what was spent before from the
// metered rows; `budget_warning` and `budget_exceeded` events; and the clone stopped when its budget is gone.
import type { BudgetConfig } from '../config/config.js';
import type { EventLog } from '../events/event-log.js';
import { countedTokens, createBudgetGuard, type BudgetGuard, type BudgetLimits, type BudgetNotice } from '../gateway/budget.js';
import type { PgGatewayStore } from '../store/gateway-store.js';

/** The limits of one clone (or of the task, for a shared budget) from what the task and config say. */
export function budgetLimits(config: BudgetConfig, task: { tokenBudget: number | null; clones: number }, hasClone: boolean): BudgetLimits | null {
  const tokens = task.tokenBudget ?? config.taskTokens;
  if (tokens === null && config.taskUsd === null) return null;
  if (config.split === 'shared' || !hasClone) return { scope: 'task', maxTokens: tokens, maxCostUsd: config.taskUsd };
  const clones = Math.max(1, task.clones);
  return {
    scope: 'clone',
    maxTokens: tokens === null ? null : Math.floor(tokens / clones),
    maxCostUsd: config.taskUsd === null ? null : config.taskUsd / clones,
  };
}

function payload(notice: BudgetNotice): Record<string, unknown> {
  return { scope: notice.limits.scope, maxTokens: notice.limits.maxTokens, usedTokens: notice.spent.tokens,
    maxCostUsd: notice.limits.maxCostUsd, costUsd: notice.spent.costUsd };
}

export function createKageBudgetGuard(config: BudgetConfig, store: PgGatewayStore, events: EventLog,
  stopClone: (cloneId: string, message: string) => void): BudgetGuard {
  return createBudgetGuard({
    warningThreshold: config.warningThreshold,
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
      if (notice.grant.cloneId !== null) stopClone(notice.grant.cloneId, message);
    },
  });
}
