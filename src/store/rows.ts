// Maps database rows to domain records and record patches to columns.
import type { CloneRecord, EventRecord, MeteredUsage, TaskRecord, Usage } from '../domain/index.js';

type Row = Record<string, any>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toTask(r: Row): TaskRecord {
  return {
    id: r.id,
    description: r.description,
    repo: r.repo,
    baseRef: r.base_ref,
    baseCommit: r.base_commit,
    checkCommand: r.check_command,
    setupCommand: r.setup_command,
    mergeStrategy: r.merge_strategy,
    maxRetries: r.max_retries,
    retryDelayMs: r.retry_delay_ms,
    checkTimeoutMs: r.check_timeout_ms,
    status: r.status,
    createdBy: r.created_by,
    tokenBudget: numOrNull(r.token_budget),
    usdBudget: numOrNull(r.usd_budget),
    record: r.record ?? false,
    replayOf: r.replay_of ?? null,
    bestClone: r.best_clone,
    mergeStatus: r.merge_status,
    mergeCommit: r.merge_commit,
    mergeBranch: r.merge_branch,
    mergeMessage: r.merge_message,
    conflicts: r.conflicts ?? [],
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

/**
 * The `metered_*` columns the clone reads join in (select-clones.sql); null when the gateway metered no
 * request of the clone, or when the row came from a statement without them.
 */
function meteredOf(r: Row): MeteredUsage | null {
  if (!r.metered_requests) return null;
  return {
    requests: num(r.metered_requests),
    inputTokens: num(r.metered_input_tokens),
    outputTokens: num(r.metered_output_tokens),
    cacheReadTokens: num(r.metered_cache_read_tokens),
    cacheWriteTokens: num(r.metered_cache_write_tokens),
    costUsd: num(r.metered_cost_usd),
    errors: num(r.metered_errors),
  };
}

export function toClone(r: Row): CloneRecord {
  // The clone's own columns hold what the agent reported; the gateway's metering, when there is any, wins.
  const reportedUsage: Usage = {
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    cacheReadTokens: num(r.cache_read_tokens),
    cacheWriteTokens: num(r.cache_write_tokens),
  };
  const metered = meteredOf(r);
  return {
    id: r.id,
    taskId: r.task_id,
    name: r.name,
    agent: r.agent,
    model: r.model,
    options: r.options ?? {},
    status: r.status,
    branch: r.branch,
    worktree: r.worktree,
    timeoutMs: r.timeout_ms,
    attempt: r.attempt,
    retries: r.retries,
    workerId: r.worker_id,
    pid: r.pid,
    sessionId: r.session_id,
    exitCode: r.exit_code,
    exitSignal: r.exit_signal,
    error: r.error,
    usage: metered === null ? reportedUsage : { inputTokens: metered.inputTokens, outputTokens: metered.outputTokens,
      cacheReadTokens: metered.cacheReadTokens, cacheWriteTokens: metered.cacheWriteTokens },
    costUsd: metered === null ? num(r.cost_usd) : metered.costUsd,
    usageSource: metered === null ? 'agent' : 'gateway',
    reportedUsage,
    reportedCostUsd: num(r.cost_usd),
    metered,
    durationMs: numOrNull(r.duration_ms),
    diff: r.diff_files ? { files: r.diff_files, insertions: r.insertions ?? 0, deletions: r.deletions ?? 0 } : null,
    headCommit: r.head_commit,
    checkStatus: r.check_status,
    checkOutput: r.check_output,
    score: r.score,
    rank: r.rank,
    reason: r.reason,
    lastEvent: r.last_event,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
  };
}

/** A clone row that came back as JSON (`json_agg`): its timestamps are strings there, Dates in a record. */
export function cloneFromJson(r: Row): CloneRecord {
  const date = (v: unknown): Date | null => (typeof v === 'string' ? new Date(v) : null);
  return toClone({ ...r, started_at: date(r.started_at), finished_at: date(r.finished_at), updated_at: date(r.updated_at) });
}

export function toEvent(r: Row): EventRecord {
  return {
    id: String(r.id),
    taskId: r.task_id,
    cloneId: r.clone_id,
    type: r.type,
    payload: r.payload ?? {},
    createdAt: r.created_at,
  };
}

/** Clone fields a worker or the judge may change, by column. */
export interface ClonePatch {
  status?: CloneRecord['status'];
  worktree?: string | null;
  attempt?: number;
  retries?: number;
  workerId?: string | null;
  pid?: number | null;
  sessionId?: string | null;
  exitCode?: number | null;
  exitSignal?: string | null;
  error?: string | null;
  /** The agent's own report, read back as `reportedUsage` (and as `usage` while nothing is metered). */
  usage?: CloneRecord['usage'];
  /** Likewise `reportedCostUsd`. */
  costUsd?: number;
  durationMs?: number | null;
  diff?: CloneRecord['diff'];
  headCommit?: string | null;
  checkStatus?: CloneRecord['checkStatus'];
  checkOutput?: string | null;
  score?: number | null;
  rank?: number | null;
  reason?: string | null;
  lastEvent?: string | null;
  finishedAt?: Date | null;
}

export interface TaskPatch {
  status?: TaskRecord['status'];
  bestClone?: string | null;
  mergeStatus?: TaskRecord['mergeStatus'];
  mergeCommit?: string | null;
  mergeBranch?: string | null;
  mergeMessage?: string | null;
  conflicts?: string[];
  error?: string | null;
  completedAt?: Date | null;
}

const CLONE_COLUMNS: Record<string, string> = {
  status: 'status', worktree: 'worktree', attempt: 'attempt', retries: 'retries', workerId: 'worker_id', pid: 'pid',
  sessionId: 'session_id', exitCode: 'exit_code', exitSignal: 'exit_signal', error: 'error', costUsd: 'cost_usd',
  durationMs: 'duration_ms', headCommit: 'head_commit', checkStatus: 'check_status', checkOutput: 'check_output',
  score: 'score', rank: 'rank', reason: 'reason', lastEvent: 'last_event', finishedAt: 'finished_at',
};

const TASK_COLUMNS: Record<string, string> = {
  status: 'status', bestClone: 'best_clone', mergeStatus: 'merge_status', mergeCommit: 'merge_commit',
  mergeBranch: 'merge_branch', mergeMessage: 'merge_message', error: 'error', completedAt: 'completed_at',
};

/** Turns a patch into `col = $n` assignments; keys are fixed names, never user text. */
export function cloneAssignments(patch: ClonePatch): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (key === 'usage') {
      const u = value as CloneRecord['usage'];
      out.push(['input_tokens', u.inputTokens], ['output_tokens', u.outputTokens],
        ['cache_read_tokens', u.cacheReadTokens], ['cache_write_tokens', u.cacheWriteTokens]);
    } else if (key === 'diff') {
      const d = value as CloneRecord['diff'];
      out.push(['diff_files', d ? JSON.stringify(d.files) : null], ['insertions', d?.insertions ?? null],
        ['deletions', d?.deletions ?? null]);
    } else {
      const column = CLONE_COLUMNS[key];
      if (!column) throw new Error(`Unknown clone field ${key}`);
      out.push([column, value]);
    }
  }
  return out;
}

export function taskAssignments(patch: TaskPatch): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (key === 'conflicts') out.push(['conflicts', JSON.stringify(value)]);
    else {
      const column = TASK_COLUMNS[key];
      if (!column) throw new Error(`Unknown task field ${key}`);
      out.push([column, value]);
    }
  }
  return out;
}
