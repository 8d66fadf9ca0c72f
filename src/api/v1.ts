// The v1 API's view of tasks: its five task states, its per-agent result shape, and its agent names.
import type { CloneRecord, CloneStatus, TaskRecord, TaskStatus } from '../domain/index.js';
import { taskUsage } from '../domain/index.js';

export type V1TaskStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type V1CliStatus = 'success' | 'failure' | 'timeout' | 'cancelled' | 'blocked';

/** v1 knew five task states; kage's in-between and review states map onto them (`kage_status` keeps the real one). */
export function v1TaskStatus(status: TaskStatus): V1TaskStatus {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'running':
    case 'judging':
    case 'merging':
      return 'running';
    case 'completed':
    case 'needs_review':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
  }
}

/** Null while the clone has not ended. */
export function v1CliStatus(status: CloneStatus): V1CliStatus | null {
  switch (status) {
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'failure';
    case 'timeout':
      return 'timeout';
    case 'cancelled':
      return 'cancelled';
    case 'budget_exceeded':
      return 'blocked';
    default:
      return null;
  }
}

/** v1 agent names that kage knows under another id. */
export const V1_AGENT_ALIASES: Readonly<Record<string, string>> = Object.freeze({ gemini: 'gemini-cli' });

/** v1 agent names that no longer exist, with what to use instead. */
export const V1_REMOVED_AGENTS: Readonly<Record<string, string>> = Object.freeze({ 'auto-claude': 'claude-code' });

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const seconds = (ms: number | null): number => Math.round((ms ?? 0) / 10) / 100;

/** v1's TaskResponse, plus kage's own fields (all additive, so v1 clients keep working). */
export function toV1Task(task: TaskRecord, clones: CloneRecord[]) {
  const ended = clones.filter((c) => v1CliStatus(c.status) !== null);
  const success = clones.filter((c) => c.status === 'succeeded').length;
  const usage = taskUsage(clones);
  return {
    id: task.id,
    description: task.description,
    status: v1TaskStatus(task.status),
    created_at: iso(task.createdAt),
    updated_at: iso(task.updatedAt),
    started_at: iso(task.startedAt),
    completed_at: iso(task.completedAt),
    cli_results: ended.length > 0 ? ended.map((c) => ({
      cli_name: c.agent,
      name: c.name,
      status: v1CliStatus(c.status)!,
      files_modified: c.diff?.files ?? [],
      cost: c.costUsd,
      duration: seconds(c.durationMs),
      retries: c.retries,
      error: c.error,
    })) : null,
    success_count: success,
    failure_count: ended.length - success,
    total_cost: usage.costUsd,
    total_duration: seconds(clones.reduce((sum, c) => sum + (c.durationMs ?? 0), 0)),
    best_cli: task.bestClone,
    error: task.error,
    kage_status: task.status,
    repo: task.repo,
    base_ref: task.baseRef,
    merge_strategy: task.mergeStrategy,
    merge_status: task.mergeStatus,
    merge_commit: task.mergeCommit,
    merge_branch: task.mergeBranch,
    created_by: task.createdBy,
    token_budget: task.tokenBudget,
    usd_budget: task.usdBudget,
    record: task.record,
    replay_of: task.replayOf,
    tokens: usage.usage,
    metered: usage.metered,
    clones: clones.map((c) => ({
      name: c.name,
      agent: c.agent,
      model: c.model,
      status: c.status,
      attempt: c.attempt + 1,
      retries: c.retries,
      branch: c.branch,
      files_modified: c.diff?.files ?? [],
      insertions: c.diff?.insertions ?? 0,
      deletions: c.diff?.deletions ?? 0,
      tokens: c.usage,
      cost: c.costUsd,
      usage_source: c.usageSource,
      reported_tokens: c.reportedUsage,
      reported_cost: c.reportedCostUsd,
      metered: c.metered,
      duration: seconds(c.durationMs),
      check_status: c.checkStatus,
      score: c.score,
      rank: c.rank,
      reason: c.reason,
      error: c.error,
      last_event: c.lastEvent,
    })),
  };
}

export type V1Task = ReturnType<typeof toV1Task>;
