// Reconciles work left behind by a kage process that died: clones it was running are retried or failed
// (never left "running"), their leftovers committed first so nothing is lost; tasks whose clones all
// ended are finalized; worktrees no live clone owns are swept.
import { hostname } from 'node:os';
import { isTerminalTask, type TaskRecord } from '../domain/index.js';
import { isProcessAlive, killProcessGroup } from '../process/supervisor.js';
import { jobExpirySeconds, type CoreContext } from './context.js';
import { finalizeTask } from './finalizer.js';
import { removeWorktree } from './clone-runner.js';
import { taskShortId } from './branches.js';

const RECOVERY_LOCK = 7_270_003;
/** A worker on another machine is presumed dead after this long without a heartbeat. */
export const WORKER_STALE_MS = 60_000;
/** A clone queued this long is re-queued at start, in case its job was never stored. */
const QUEUED_STALE_MS = 60_000;
/** A task stuck in judging/merging this long lost its finalizer. */
const FINALIZE_STALE_MS = 120_000;

export interface RecoveryReport {
  requeued: string[];
  failed: string[];
  finalized: string[];
  sweptWorktrees: string[];
}

export async function recover(ctx: CoreContext): Promise<RecoveryReport | null> {
  return ctx.store.withTryLock(RECOVERY_LOCK, () => reconcile(ctx));
}

async function reconcile(ctx: CoreContext): Promise<RecoveryReport> {
  const { store, events } = ctx;
  const report: RecoveryReport = { requeued: [], failed: [], finalized: [], sweptWorktrees: [] };
  const here = hostname();
  const workers = await store.listWorkers();
  const alive = new Set<string>();
  for (const w of workers) {
    const live = w.id === ctx.workerId || (w.hostname === here ? isProcessAlive(w.pid) : w.heartbeatAgeMs < WORKER_STALE_MS);
    if (live) alive.add(w.id);
    else await store.deleteWorker(w.id);
  }

  const tasks = new Map<string, TaskRecord | null>();
  const taskOf = async (id: string): Promise<TaskRecord | null> => {
    if (!tasks.has(id)) tasks.set(id, await store.getTask(id));
    return tasks.get(id)!;
  };

  for (const clone of await store.activeClones()) {
    if (clone.status === 'queued' && clone.taskStatus !== 'cancelled' && Date.now() - clone.updatedAt.getTime() > QUEUED_STALE_MS) {
      // Its job may never have been queued (a crash between storing the task and queueing). A duplicate
      // job is harmless: only the first claims the attempt.
      const task = await taskOf(clone.taskId);
      if (task) {
        await ctx.queue.enqueue({ taskId: task.id, cloneId: clone.id, attempt: clone.attempt },
          { expireInSeconds: jobExpirySeconds(clone.timeoutMs, task.checkTimeoutMs) });
        report.requeued.push(clone.id);
      }
      continue;
    }
    if (clone.status !== 'preparing' && clone.status !== 'running') continue;
    if (clone.workerId && alive.has(clone.workerId)) continue;
    const task = await taskOf(clone.taskId);
    if (!task) continue;
    // The agent may outlive its orchestrator: kill its group before touching its worktree.
    if (clone.pid && clone.workerId?.startsWith(`${here}:`)) killProcessGroup(clone.pid, 'SIGKILL');
    if (clone.worktree) {
      try {
        const { head, diff } = await ctx.worktrees.commitAndDiff(clone.worktree,
          `kage: ${clone.name} attempt ${clone.attempt + 1} (recovered)`, task.baseCommit);
        await store.updateClone(clone.id, { headCommit: head, diff });
      } catch (err) {
        ctx.log.warn({ err, clone: clone.id }, 'could not commit leftovers of an orphaned clone');
      }
    }
    const reason = `kage process ${clone.workerId ?? '(unknown)'} stopped during attempt ${clone.attempt + 1}`;
    if (!isTerminalTask(task.status) && clone.retries < task.maxRetries) {
      const attempt = clone.attempt + 1;
      const moved = await store.updateClone(clone.id, { status: 'retrying', attempt, retries: clone.retries + 1,
        error: reason, workerId: null, pid: null, lastEvent: `recovered: ${reason}` }, ['preparing', 'running']);
      if (moved) {
        events.emit(task.id, clone.id, 'clone_retry', { name: clone.name, attempt: attempt + 1, delayMs: 0, reason, recovered: true });
        await ctx.queue.enqueue({ taskId: task.id, cloneId: clone.id, attempt },
          { expireInSeconds: jobExpirySeconds(clone.timeoutMs, task.checkTimeoutMs) });
        report.requeued.push(clone.id);
      }
    } else {
      const status = task.status === 'cancelled' ? 'cancelled' : 'failed';
      await removeWorktree(ctx, task, clone.id, clone.worktree ?? undefined);
      const moved = await store.updateClone(clone.id, { status, error: `${reason}; no retries left`, pid: null,
        finishedAt: new Date(), lastEvent: 'recovered: failed' }, ['preparing', 'running']);
      if (moved) {
        events.emit(task.id, clone.id, 'clone_finished', { name: clone.name, status, error: reason, recovered: true });
        report.failed.push(clone.id);
      }
    }
  }
  await events.flush();

  for (const task of await store.unfinishedTasks()) {
    const stale = Date.now() - task.updatedAt.getTime() > FINALIZE_STALE_MS;
    if ((task.status === 'judging' || task.status === 'merging') && stale) {
      await store.updateTask(task.id, { status: 'running' }, ['judging', 'merging']);
    }
    const before = report.finalized.length;
    await finalizeTask(ctx, task.id);
    const after = await store.getTask(task.id);
    if (after && isTerminalTask(after.status) && report.finalized.length === before) report.finalized.push(task.id);
  }

  const known = new Set((await store.activeClones()).map((c) => c.worktree).filter((p): p is string => !!p));
  const activeTasks = new Set((await store.unfinishedTasks()).map((t) => taskShortId(t.id)));
  report.sweptWorktrees = await ctx.worktrees.sweepOrphans(known, activeTasks);
  return report;
}
