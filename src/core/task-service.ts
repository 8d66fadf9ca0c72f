// Creates, replays, cancels and merges tasks. Used by the CLI and the API server.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { realpathSync } from 'node:fs';
import type { CloneRecord, CloneSpec, MergeStrategy, TaskRecord } from '../domain/index.js';
import { KageError, isTerminalTask, showValue } from '../domain/index.js';
import { killProcessGroup } from '../process/supervisor.js';
import { branchExists, currentBranch, isGitRepo, repoRoot, resolveCommit } from '../workspace/git.js';
import { cloneBranchName } from './branches.js';
import { jobExpirySeconds, type CoreContext } from './context.js';
import { mergeInto, mergePatch, mergeTaskStatus } from './finalizer.js';
import type { NewTask } from '../store/pg-store.js';
import { replayPlan, type ReplayOptions } from './replay-task.js';
import { parseTaskInput } from './task-input.js';

/** NOTIFY channel carrying control messages to the processes running clones. */
export const CONTROL_CHANNEL = 'kage_control';

/** What goes on CONTROL_CHANNEL, as JSON. */
export type ControlMessage =
  /** Stop every clone of the task: the user cancelled it. */
  | { type: 'cancel'; taskId: string }
  /** Stop the clone as over budget, its work kept: a `kage gateway` in another process refused its request. */
  | { type: 'budget'; taskId: string; cloneId: string; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TaskView {
  task: TaskRecord;
  clones: CloneRecord[];
}

export function createTaskService(ctx: CoreContext) {
  const { store, events } = ctx;

  /** The repository's root, base branch and base commit; no git process in the common case. */
  async function resolveRepoAndBase(path: string, baseRef: string | null): Promise<{ repo: string; baseRef: string; baseCommit: string }> {
    const head = await ctx.repos.branchHead(path, baseRef ?? ctx.config.baseBranch);
    if (!head) return resolveSlowly(path, baseRef);
    return { repo: head.root, baseRef: head.branch, baseCommit: head.commit };
  }

  /** The same answers step by step, for a precise error (not a repo, detached HEAD, missing or empty branch). */
  async function resolveSlowly(path: string, baseRef: string | null): Promise<{ repo: string; baseRef: string; baseCommit: string }> {
    if (!(await isGitRepo(path))) {
      throw new KageError('KAGE_NOT_A_REPO', `Expected \`repo\` to be a git repository, got ${showValue(path)}`, { field: 'repo' });
    }
    const repo = realpathSync(await repoRoot(path));
    const ref = baseRef ?? ctx.config.baseBranch ?? (await currentBranch(repo));
    if (!ref) {
      throw new KageError('KAGE_BAD_REF', `The repository ${repo} is on a detached HEAD; name the base branch with \`--base\` or BASE_BRANCH`, { field: 'baseRef' });
    }
    if (!(await branchExists(repo, ref))) {
      throw new KageError('KAGE_BAD_REF', `Expected \`baseRef\` to be a local branch of ${repo}, got ${showValue(ref)}`, { field: 'baseRef' });
    }
    const baseCommit = await resolveCommit(repo, `refs/heads/${ref}`).catch(() => {
      throw new KageError('KAGE_BAD_REF', `The branch ${showValue(ref)} has no commit yet; commit something first`, { field: 'baseRef' });
    });
    return { repo, baseRef: ref, baseCommit };
  }

  /**
   * The task's budgets: its own, else this process's defaults, written into the task so that whichever
   * gateway serves its clones (this process's or a `kage gateway` elsewhere) enforces the same ones.
   */
  function effectiveBudgets(spec: { tokenBudget: number | null; usdBudget: number | null }): { tokenBudget: number | null; usdBudget: number | null } {
    const { budgets, gateway } = ctx.config;
    if (!gateway.enabled) return { tokenBudget: spec.tokenBudget, usdBudget: spec.usdBudget };
    return { tokenBudget: spec.tokenBudget ?? budgets.taskTokens, usdBudget: spec.usdBudget ?? budgets.taskUsd };
  }

  /** Stores a task and its clones, announces them and queues one job per clone. */
  async function insertTask(fields: Omit<NewTask, 'id'>, clones: readonly CloneSpec[]): Promise<TaskView> {
    const id = randomUUID();
    const created = await store.createTask({ id, ...fields },
      clones.map((c) => ({ id: randomUUID(), name: c.name, agent: c.agent, model: c.model, options: c.options,
        branch: cloneBranchName(id, c.name), timeoutMs: c.timeoutMs })));
    const { repo, baseRef, baseCommit } = created.task;
    events.emit(id, null, 'task_created', { repo, baseRef, baseCommit, record: created.task.record, replayOf: created.task.replayOf,
      clones: created.clones.map((c) => ({ name: c.name, agent: c.agent, model: c.model })) });
    for (const clone of created.clones) events.emit(id, clone.id, 'clone_queued', { name: clone.name, agent: clone.agent });
    await ctx.queue.enqueueMany(created.clones.map((clone) => ({
      job: { taskId: id, cloneId: clone.id, attempt: 0 },
      expireInSeconds: jobExpirySeconds(clone.timeoutMs, fields.checkTimeoutMs),
    })));
    void events.flush();
    return created;
  }

  return {
    /** Validates, stores and enqueues a task; returns it with its clones. */
    async createTask(input: unknown): Promise<TaskView> {
      const recordByDefault = ctx.config.gateway.enabled && ctx.config.gateway.record;
      const spec = parseTaskInput(input, { ...ctx.config, record: recordByDefault });
      if (spec.record && !ctx.config.gateway.enabled) {
        throw new KageError('KAGE_GATEWAY_OFF', 'Invalid `record`: the flight recorder records through the LLM gateway, which is off (KAGE_GATEWAY=off)',
          { field: 'record' });
      }
      spec.clones.forEach((c, i) => {
        c.agent = ctx.agents.get(c.agent, `clones[${i}].agent`).id;
      });
      const { repo, baseRef, baseCommit } = await resolveRepoAndBase(spec.repo, spec.baseRef);
      return insertTask({ description: spec.description, repo, baseRef, baseCommit, checkCommand: spec.checkCommand,
        setupCommand: spec.setupCommand, mergeStrategy: spec.mergeStrategy, maxRetries: spec.maxRetries,
        retryDelayMs: spec.retryDelayMs, checkTimeoutMs: spec.checkTimeoutMs, createdBy: spec.createdBy,
        ...effectiveBudgets(spec), record: spec.record }, spec.clones);
    },

    /**
     * Creates and enqueues a replay of a finished recorded task (replay-task.ts): its clones run as the
     * recorded ones did, their model traffic answered from the recording, then are judged and merged as usual.
     */
    async replayTask(sourceId: string, opts: ReplayOptions = {}): Promise<TaskView> {
      const source = await store.getTask(sourceId);
      if (!source) throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(sourceId)}`, { field: 'id' });
      const plan = await replayPlan(ctx, source, await store.getClones(source.id), opts);
      return insertTask(plan.task, plan.clones);
    },

    /** Finds a task by full id or unique id prefix (as printed by the CLI). */
    async resolveTask(idOrPrefix: string): Promise<TaskRecord> {
      const text = idOrPrefix.trim().toLowerCase();
      if (UUID.test(text)) {
        const task = await store.getTask(text);
        if (task) return task;
      } else if (/^[0-9a-f-]{4,36}$/.test(text)) {
        const found = await store.findTasksByPrefix(text);
        if (found.length === 1) return found[0]!;
        if (found.length > 1) {
          throw new KageError('KAGE_INVALID_INPUT', `Task id prefix ${showValue(idOrPrefix)} matches several tasks; give more characters`, { field: 'id' });
        }
      } else {
        throw new KageError('KAGE_INVALID_INPUT', `Expected a task id (a UUID or at least 4 of its first characters), got ${showValue(idOrPrefix)}`, { field: 'id' });
      }
      throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(idOrPrefix)}`, { field: 'id' });
    },

    async view(taskId: string): Promise<TaskView> {
      const task = await store.getTask(taskId);
      if (!task) throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(taskId)}`, { field: 'id' });
      return { task, clones: await store.getClones(taskId) };
    },

    /**
     * Cancels a task: marks it and its unfinished clones cancelled, tells the processes running them
     * (NOTIFY), and kills process groups started on this machine directly, in case their worker is gone.
     */
    async cancelTask(taskId: string, reason = 'cancelled by user'): Promise<TaskView> {
      const result = await store.cancelTask(taskId, reason);
      if (!result) {
        const task = await store.getTask(taskId);
        if (!task) throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(taskId)}`, { field: 'id' });
        throw new KageError('KAGE_TASK_FINISHED', `Task ${task.id} already finished with status ${task.status}`, { field: 'id' });
      }
      events.emit(taskId, null, 'task_cancelled', { reason, clones: result.clones.map((c) => c.name) });
      await events.flush();
      for (const [, running] of ctx.running) {
        if (running.taskId === taskId) {
          running.stopReason = 'cancel';
          running.controller.abort();
        }
      }
      await store.notify(CONTROL_CHANNEL, JSON.stringify({ type: 'cancel', taskId } satisfies ControlMessage));
      const here = hostname();
      const localPids = result.clones
        .filter((c) => c.pid && c.workerId?.startsWith(`${here}:`) && !ctx.running.has(c.id))
        .map((c) => c.pid!);
      for (const pid of localPids) killProcessGroup(pid, 'SIGTERM');
      if (localPids.length > 0) {
        // The worker owning them kills after its grace period too; this covers a worker that is gone.
        setTimeout(() => localPids.forEach((pid) => killProcessGroup(pid, 'SIGKILL')), ctx.config.killGraceMs).unref();
      }
      return { task: result.task, clones: await store.getClones(taskId) };
    },

    /** Merges one clone (default: the judge's best) of a finished task. */
    async mergeTask(taskId: string, opts: { clone?: string | null; strategy?: MergeStrategy | null }) {
      const task = await store.getTask(taskId);
      if (!task) throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(taskId)}`, { field: 'id' });
      if (!isTerminalTask(task.status) || task.status === 'cancelled' || task.status === 'failed') {
        if (!isTerminalTask(task.status)) {
          throw new KageError('KAGE_TASK_NOT_FINISHED', `Task ${task.id} is still ${task.status}; merge when it has finished`, { field: 'id' });
        }
      }
      if (task.mergeStatus === 'merged' || task.mergeStatus === 'merged_to_branch') {
        throw new KageError('KAGE_TASK_FINISHED', `Task ${task.id} was already merged (${task.mergeCommit})`, { field: 'id' });
      }
      const clones = await store.getClones(taskId);
      const name = opts.clone ?? task.bestClone;
      if (!name) {
        throw new KageError('KAGE_NOTHING_TO_MERGE', `Task ${task.id} has no best clone; choose one with \`--clone\``, { field: 'clone' });
      }
      const clone = clones.find((c) => c.name === name);
      if (!clone) {
        throw new KageError('KAGE_CLONE_NOT_FOUND', `Task ${task.id} has no clone ${showValue(name)}; clones: ${clones.map((c) => c.name).join(', ')}`, { field: 'clone' });
      }
      if (!clone.diff || clone.diff.files.length === 0) {
        throw new KageError('KAGE_NOTHING_TO_MERGE', `Clone ${clone.name} changed nothing`, { field: 'clone' });
      }
      const strategy = opts.strategy ?? (task.mergeStrategy === 'manual' ? 'auto' : task.mergeStrategy);
      if (strategy === 'manual') {
        throw new KageError('KAGE_INVALID_INPUT', 'Expected `strategy` theirs or auto for a merge, got "manual"', { field: 'strategy' });
      }
      const result = await mergeInto(ctx, task, clone, strategy);
      await store.updateTask(task.id, { ...mergePatch(result), status: result.status === 'failed' ? task.status : mergeTaskStatus(result) });
      events.emit(task.id, clone.id, 'merge_result', { ...mergePatch(result), strategy, clone: clone.name });
      await events.flush();
      return { task: (await store.getTask(task.id))!, clone, result };
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;
