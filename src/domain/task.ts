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

/** A clone's (or a task's) model traffic as the LLM gateway metered it, over every attempt. */
export interface MeteredUsage extends Usage {
  requests: number;
  costUsd: number;
  /** Requests that did not end in a success: an error status, no answer, or refused by kage (budget, rate limit). */
  errors: number;
}

/** Where a clone's `usage` and `costUsd` come from. */
export type UsageSource =
  /** The gateway metered the clone's requests: its sums are the figures. */
  | 'gateway'
  /** Nothing was metered (gateway off, or an agent without model traffic): the agent's own report. */
  | 'agent';

/** Usage and cost of a task: its clones' figures and the gateway's metered totals (null when it metered none). */
export interface TaskUsage {
  usage: Usage;
  costUsd: number;
  metered: MeteredUsage | null;
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

export function taskUsage(clones: readonly Pick<CloneRecord, 'usage' | 'costUsd' | 'metered'>[]): TaskUsage {
  let usage: Usage = { ...ZERO_USAGE };
  let costUsd = 0;
  let metered: MeteredUsage | null = null;
  for (const c of clones) {
    usage = addUsage(usage, c.usage);
    costUsd += c.costUsd;
    if (c.metered === null) continue;
    const sum: MeteredUsage = metered ?? { ...ZERO_USAGE, requests: 0, costUsd: 0, errors: 0 };
    metered = { ...addUsage(sum, c.metered), requests: sum.requests + c.metered.requests,
      costUsd: sum.costUsd + c.metered.costUsd, errors: sum.errors + c.metered.errors };
  }
  return { usage, costUsd, metered };
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
  /** Tokens all clones together may use; null means the configured default. Enforced by the gateway. */
  tokenBudget: number | null;
  /** USD all clones together may spend, by the gateway's price table; null means the configured default. */
  usdBudget: number | null;
  /** Store every request/response pair of the clones' model traffic (the gateway's flight recorder). */
  record: boolean;
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
  /** Tokens all clones together may use; null means the default of the gateway that enforces it. */
  tokenBudget: number | null;
  /** USD all clones together may spend; null means the default of the gateway that enforces it. */
  usdBudget: number | null;
  /** The clones' model traffic is recorded by the gateway's flight recorder. */
  record: boolean;
  /** The recorded task whose recording answers this task's model traffic; null for a task that is no replay. */
  replayOf: string | null;
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
  /** Tokens used: the gateway's metered sums when it metered any request of the clone, else `reportedUsage`. */
  usage: Usage;
  /** Cost in USD, from the same source as `usage`. */
  costUsd: number;
  usageSource: UsageSource;
  /** What the agent's own output reported for its latest attempt. */
  reportedUsage: Usage;
  reportedCostUsd: number;
  /** The gateway's totals over all attempts; null when it metered no request of the clone. */
  metered: MeteredUsage | null;
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
