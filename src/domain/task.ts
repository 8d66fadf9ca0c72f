// Task, clone and event records: the vocabulary every layer shares. Imports nothing.

/** Lifecycle of a task. */
export type TaskStatus =
  /** Stored, no clone has started yet. */
  | 'pending'
  /** At least one clone is preparing or running. */
  | 'running'
  /** Every clone is terminal; the check command runs in each worktree. */
  | 'judging'
  /** Ranked; the merge strategy is being applied. */
  | 'merging'
  /** Judged (and merged, when the strategy merges). */
  | 'completed'
  /** Judged, but a person must decide: `manual` strategy, or `auto` found conflicts. */
  | 'needs_review'
  /** No clone produced a usable result, or the orchestrator could not run the task. */
  | 'failed'
  /** Cancelled by a user; every clone's process group was killed. */
  | 'cancelled';

export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'needs_review', 'failed', 'cancelled'];

/** Lifecycle of one clone (one agent run with its retries). */
export type CloneStatus =
  /** Waiting for a worker. */
  | 'queued'
  /** Worktree being created and the setup command running. */
  | 'preparing'
  /** The agent process is running. */
  | 'running'
  /** A transient failure happened; the next attempt waits for its backoff. */
  | 'retrying'
  /** The agent exited cleanly and reported success. */
  | 'succeeded'
  /** The agent failed and no retry is left (or the failure is not transient). */
  | 'failed'
  /** The agent ran past its wall-clock timeout and was killed. */
  | 'timeout'
  /** Cancelled with its task. */
  | 'cancelled'
  /** Stopped because its token budget ran out; its work so far is kept. */
  | 'budget_exceeded';

export const TERMINAL_CLONE_STATUSES: readonly CloneStatus[] = [
  'succeeded',
  'failed',
  'timeout',
  'cancelled',
  'budget_exceeded',
];

export function isTerminalClone(status: CloneStatus): boolean {
  return TERMINAL_CLONE_STATUSES.includes(status);
}

export function isTerminalTask(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.includes(status);
}

export type MergeStrategy = 'theirs' | 'auto' | 'manual';

/** Outcome of the check command in one worktree. */
export type CheckStatus = 'passed' | 'failed' | 'timeout' | 'skipped' | 'error';

/** What the merge step did for a task. */
export type MergeStatus =
  /** Not attempted yet. */
  | 'none'
  /** The base branch now contains the winner. */
  | 'merged'
  /** The merge commit exists on `kage/<id>/merged` only, because the base checkout had uncommitted changes. */
  | 'merged_to_branch'
  /** `auto` found conflicts; nothing merged. */
  | 'conflicts'
  /** `manual`: nothing merged, waiting for `kage merge`. */
  | 'manual'
  /** No clone had a result worth merging. */
  | 'nothing_to_merge'
  /** Git refused (see the task error). */
  | 'failed';

export interface DiffStats {
  files: string[];
  insertions: number;
  deletions: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const ZERO_USAGE: Usage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

export function totalTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
}

export interface CloneSpec {
  /** Unique within the task: `fake`, `fake-2`, or a user-given name. */
  name: string;
  /** Adapter id, e.g. `fake`, `shell`, `claude-code`. */
  agent: string;
  model: string | null;
  timeoutMs: number;
  /** Free-form options handed to the adapter (behaviour of the fake agent, extra args, ...). */
  options: Record<string, unknown>;
}

export interface TaskSpec {
  description: string;
  repo: string;
  baseRef: string | null;
  checkCommand: string | null;
  setupCommand: string | null;
  mergeStrategy: MergeStrategy;
  maxRetries: number;
  retryDelayMs: number;
  checkTimeoutMs: number;
  createdBy: string | null;
  /** Tokens all clones together may use; null means no limit. Stored now, enforced by the gateway. */
  tokenBudget: number | null;
  clones: CloneSpec[];
}

export interface TaskRecord {
  id: string;
  description: string;
  repo: string;
  baseRef: string;
  baseCommit: string;
  checkCommand: string | null;
  setupCommand: string | null;
  mergeStrategy: MergeStrategy;
  maxRetries: number;
  retryDelayMs: number;
  checkTimeoutMs: number;
  status: TaskStatus;
  createdBy: string | null;
  /** Tokens all clones together may use; null means no limit. */
  tokenBudget: number | null;
  bestClone: string | null;
  mergeStatus: MergeStatus;
  mergeCommit: string | null;
  mergeBranch: string | null;
  mergeMessage: string | null;
  conflicts: string[];
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface CloneRecord {
  id: string;
  taskId: string;
  name: string;
  agent: string;
  model: string | null;
  options: Record<string, unknown>;
  status: CloneStatus;
  branch: string;
  worktree: string | null;
  timeoutMs: number;
  attempt: number;
  retries: number;
  workerId: string | null;
  pid: number | null;
  sessionId: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  error: string | null;
  usage: Usage;
  costUsd: number;
  durationMs: number | null;
  diff: DiffStats | null;
  headCommit: string | null;
  checkStatus: CheckStatus | null;
  checkOutput: string | null;
  score: number | null;
  rank: number | null;
  reason: string | null;
  lastEvent: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface EventRecord {
  /** Global, strictly increasing sequence number (bigserial). */
  id: string;
  taskId: string;
  cloneId: string | null;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}
