// The worker side of a kage process: registers itself, runs clone jobs from the queue, reacts to control
// messages from other processes (a cancel; a budget stop from a `kage gateway` elsewhere), and hands
// unfinished clones back to the queue when it stops.
import { hostname } from 'node:os';
import type { CoreContext } from './context.js';
import { runCloneJob, stopCloneOverBudget } from './clone-runner.js';
import { recover, type RecoveryReport } from './recovery.js';
import { CONTROL_CHANNEL, type ControlMessage } from './task-service.js';

const HEARTBEAT_MS = 10_000;

export interface WorkerRuntime {
  start(concurrency: number): Promise<RecoveryReport | null>;
  /** Jobs currently running in this process. */
  runningCount(): number;
  /** Waits until no clone job runs here (or the timeout passes). */
  idle(timeoutMs: number): Promise<boolean>;
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export function createWorkerRuntime(ctx: CoreContext): WorkerRuntime {
  let heartbeat: NodeJS.Timeout | null = null;
  let unlisten: (() => void) | null = null;
  let active = 0;
  const idleWaiters = new Set<() => void>();

  const onControl = (payload: string): void => {
    let message: Partial<ControlMessage>;
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    // Each process gets every message; only the one running the clone acts on it.
    if (message.type === 'budget' && typeof message.cloneId === 'string') {
      stopCloneOverBudget(ctx, message.cloneId, typeof message.message === 'string' ? message.message : 'Budget exhausted');
      return;
    }
    if (message.type !== 'cancel' || !message.taskId) return;
    for (const running of ctx.running.values()) {
      if (running.taskId === message.taskId && !running.controller.signal.aborted) {
        running.stopReason = 'cancel';
        running.controller.abort();
      }
    }
  };

  return {
    async start(concurrency) {
      await ctx.store.upsertWorker(ctx.workerId, hostname(), process.pid);
      heartbeat = setInterval(() => void ctx.store.upsertWorker(ctx.workerId, hostname(), process.pid).catch(() => undefined), HEARTBEAT_MS);
      heartbeat.unref();
      unlisten = await ctx.store.listen(CONTROL_CHANNEL, onControl);
      const report = await recover(ctx);
      await ctx.queue.work(concurrency, async (job) => {
        active++;
        try {
          await runCloneJob(ctx, job);
        } catch (err) {
          ctx.log.error({ err, job }, 'clone job failed');
        } finally {
          active--;
          if (active === 0) for (const w of idleWaiters) w();
        }
      });
      return report;
    },
    runningCount: () => active,
    async idle(timeoutMs) {
      if (active === 0) return true;
      return new Promise<boolean>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          idleWaiters.delete(done);
          resolve(true);
        };
        const timer = setTimeout(() => {
          idleWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        idleWaiters.add(done);
      });
    },
    async stop(opts = {}) {
      if (heartbeat) clearInterval(heartbeat);
      // No new job first: a clone handed back below must go to another worker, not straight back here.
      await ctx.queue.stopWorking();
      if (active > 0 && !(await this.idle(opts.graceMs ?? 0))) {
        for (const running of ctx.running.values()) {
          running.stopReason = running.stopReason ?? 'shutdown';
          running.controller.abort();
        }
        await this.idle(ctx.config.killGraceMs + 10_000);
      }
      // Cancels that arrive during the grace period above still reach the clones.
      unlisten?.();
      await ctx.queue.stop();
      await ctx.store.deleteWorker(ctx.workerId).catch(() => undefined);
    },
  };
}
