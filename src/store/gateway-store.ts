// The gateway's tables: per-clone tokens (by hash) and one metered row per model request, with sums per
// clone and task. Kept apart from pg-store.ts; shares its pool.
import type pg from 'pg';
import type { GatewayGrant, GatewayProvider, GatewayRequestRecord, GatewayUsageSummary, GatewayUsageTotals } from '../domain/index.js';
import { sql } from './sql.js';

/** What the gateway's budgets need of a task (select-task-budget.sql). */
export interface TaskBudget {
  tokenBudget: number | null;
  usdBudget: number | null;
  clones: number;
}

export class PgGatewayStore {
  constructor(private readonly pool: pg.Pool) {}

  async addGatewayToken(hash: string, grant: GatewayGrant): Promise<void> {
    await this.pool.query(sql('insert-gateway-token'), [hash, grant.taskId, grant.cloneId, grant.flight ? JSON.stringify(grant.flight) : null]);
  }

  async findGatewayToken(hash: string): Promise<GatewayGrant | null> {
    const row = (await this.pool.query(sql('select-gateway-token'), [hash])).rows[0];
    return row ? { taskId: row.task_id, cloneId: row.clone_id, flight: row.flight ?? null } : null;
  }

  async deleteGatewayToken(hash: string): Promise<void> {
    await this.pool.query(sql('delete-gateway-token'), [hash]);
  }

  async insertGatewayRequest(r: GatewayRequestRecord): Promise<void> {
    await this.pool.query({ name: 'insert-gateway-request', text: sql('insert-gateway-request'), values: [r.taskId, r.cloneId,
      r.provider, r.model, r.method, r.path, r.status, r.stream, r.inputTokens, r.outputTokens, r.cacheReadTokens,
      r.cacheWriteTokens, r.costUsd, Math.round(r.latencyMs), r.ttfbMs === null ? null : Math.round(r.ttfbMs), r.startedAt, r.error] });
  }

  async listGatewayRequests(taskId: string, limit = 1000): Promise<GatewayRequestRecord[]> {
    const r = await this.pool.query(sql('select-gateway-requests'), [taskId, limit]);
    return r.rows.map((row) => ({
      taskId: row.task_id, cloneId: row.clone_id, provider: row.provider as GatewayProvider, model: row.model,
      method: row.method, path: row.path, status: row.status, stream: row.stream,
      inputTokens: Number(row.input_tokens), outputTokens: Number(row.output_tokens),
      cacheReadTokens: Number(row.cache_read_tokens), cacheWriteTokens: Number(row.cache_write_tokens),
      costUsd: Number(row.cost_usd), latencyMs: row.latency_ms, ttfbMs: row.ttfb_ms, startedAt: row.started_at, error: row.error,
    }));
  }

  /** The task's own token and USD budgets (null: the configured default) and its clone count; null when there is no such task. */
  async taskBudget(taskId: string): Promise<TaskBudget | null> {
    const row = (await this.pool.query(sql('select-task-budget'), [taskId])).rows[0];
    return row ? { tokenBudget: row.token_budget === null ? null : Number(row.token_budget),
      usdBudget: row.usd_budget === null ? null : Number(row.usd_budget), clones: row.clones } : null;
  }

  /** Of the tasks given, those that ended (so that the gateway can drop what it keeps about them). */
  async endedTasks(taskIds: readonly string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    return (await this.pool.query(sql('select-ended-tasks'), [taskIds])).rows.map((r) => r.id as string);
  }

  /** The message of the gateway's budget refusal of a clone, from its `budget_exceeded` event; null when it was not refused. */
  async budgetRefusal(taskId: string, cloneId: string): Promise<string | null> {
    const row = (await this.pool.query(sql('select-budget-refusal'), [taskId, cloneId])).rows[0];
    return row ? String(row.message ?? 'Budget exhausted') : null;
  }

  /** Totals per clone of one task, and the task's total. */
  async gatewayUsage(taskId: string): Promise<GatewayUsageSummary> {
    const rows = (await this.pool.query(sql('gateway-usage-by-clone'), [taskId])).rows;
    const clones: GatewayUsageTotals[] = rows.map((row) => ({
      cloneId: row.clone_id, requests: row.requests,
      inputTokens: Number(row.input_tokens), outputTokens: Number(row.output_tokens),
      cacheReadTokens: Number(row.cache_read_tokens), cacheWriteTokens: Number(row.cache_write_tokens),
      costUsd: Number(row.cost_usd), errors: row.errors,
    }));
    const total: GatewayUsageTotals = { cloneId: null, requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0,
      costUsd: 0, errors: 0 };
    for (const c of clones) {
      total.requests += c.requests;
      total.errors += c.errors;
      total.inputTokens += c.inputTokens;
      total.outputTokens += c.outputTokens;
      total.cacheReadTokens += c.cacheReadTokens;
      total.cacheWriteTokens += c.cacheWriteTokens;
      total.costUsd += c.costUsd;
    }
    return { taskId, total, clones };
  }
}
