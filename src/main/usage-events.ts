// The `usage` event: after each metered request, the clone's and the task's running totals from the metered
// rows, and what is left of the budget that applies to the clone. Read from the store rather than added up
// in memory, so the totals include earlier attempts and other processes' gateways.
import type { Logger } from 'pino';
import type { BudgetConfig } from '../config/config.js';
import type { GatewayRequestRecord, GatewayUsageTotals, MeteredUsage } from '../domain/index.js';
import type { EventLog } from '../events/event-log.js';
import { countedTokens } from '../gateway/budget.js';
import type { PgGatewayStore } from '../store/gateway-store.js';
import { budgetLimits } from './budgets.js';

export interface UsageReporter {
  /** Each metered request, after its row is stored (GatewayOptions.onRequest). */
  onRequest(record: GatewayRequestRecord): void;
  /** Resolves when every event for the requests seen so far is emitted. */
  idle(): Promise<void>;
}

const ZERO: MeteredUsage = Object.freeze({ requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, errors: 0 });

function totals(t: GatewayUsageTotals | undefined): MeteredUsage {
  if (t === undefined) return { ...ZERO };
  const { cloneId: _cloneId, ...rest } = t;
  return rest;
}

export function createUsageReporter(config: BudgetConfig, store: PgGatewayStore, events: EventLog, log: Logger): UsageReporter {
  // One read at a time per task, in the order the requests were metered: each read starts after the
  // previous one ended and after its own row was stored, so a task's totals never go down from one
  // event to the next even when its clones' requests end together.
  const chains = new Map<string, Promise<void>>();

  async function report(record: GatewayRequestRecord): Promise<void> {
    const [usage, task] = await Promise.all([store.gatewayUsage(record.taskId), store.taskBudget(record.taskId)]);
    const clone = record.cloneId === null ? null : totals(usage.clones.find((c) => c.cloneId === record.cloneId));
    const limits = task === null ? null : budgetLimits(config, task, record.cloneId !== null);
    let budget: Record<string, unknown> | null = null;
    if (limits !== null) {
      const spent = limits.scope === 'task' || clone === null ? usage.total : clone;
      const usedTokens = countedTokens(spent);
      budget = {
        scope: limits.scope, maxTokens: limits.maxTokens, usedTokens,
        remainingTokens: limits.maxTokens === null ? null : Math.max(0, limits.maxTokens - usedTokens),
        maxCostUsd: limits.maxCostUsd, costUsd: spent.costUsd,
        remainingCostUsd: limits.maxCostUsd === null ? null : Math.max(0, limits.maxCostUsd - spent.costUsd),
      };
    }
    events.emit(record.taskId, record.cloneId, 'usage', { clone, task: totals(usage.total), budget });
  }

  return {
    onRequest(record) {
      const previous = chains.get(record.taskId) ?? Promise.resolve();
      const next = previous.then(() => report(record)).catch((err: unknown) => {
        log.warn({ err, task: record.taskId, clone: record.cloneId }, 'reading the metered usage for a usage event failed');
      });
      chains.set(record.taskId, next);
      void next.then(() => {
        if (chains.get(record.taskId) === next) chains.delete(record.taskId);
      });
    },
    async idle() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
    },
  };
}
