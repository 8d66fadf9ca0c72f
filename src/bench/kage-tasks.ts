// Runs tasks through a live kage instance and times each from just before `createTask` to the moment
// the task is terminal, seen through the event log's in-process `task_finished` notification.
import { isTerminalTask } from '../domain/index.js';
import type { Kage } from '../main/app.js';

export interface KageTaskSpec {
  repo: string;
  clones: number;
  description: string;
  /** Every clone's agent; default `fake`. */
  agent?: string;
  /** Every clone's model; default none (the agent's own default). */
  model?: string | null;
  /** Every clone's timeout; default the config's. */
  timeoutSeconds?: number;
  /** The agent's options for every clone. */
  options: Record<string, unknown>;
}

export interface KageTaskResult {
  taskId: string;
  status: string;
  elapsedMs: number;
}

interface Finish {
  at: number;
  status: string;
}

export function createKageTaskRunner(kage: Kage, opts: { timeoutMs: number }) {
  // A task may finish before `createTask` has returned its id to us, so finishes are kept until claimed.
  const finished = new Map<string, Finish>();
  const waiters = new Map<string, (f: Finish) => void>();
  const unsubscribe = kage.ctx.events.onStored((events) => {
    const at = performance.now();
    for (const e of events) {
      if (e.type !== 'task_finished') continue;
      const finish = { at, status: String(e.payload.status ?? 'unknown') };
      const waiter = waiters.get(e.taskId);
      if (waiter) waiter(finish);
      else finished.set(e.taskId, finish);
    }
  });

  function waitFinished(taskId: string): Promise<Finish> {
    const early = finished.get(taskId);
    if (early) {
      finished.delete(taskId);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(taskId);
        void kage.ctx.store.getTask(taskId).then(
          (t) => {
            if (t && isTerminalTask(t.status)) resolve({ at: performance.now(), status: t.status });
            else reject(new Error(`Task ${taskId} not terminal after ${opts.timeoutMs} ms; last status ${t?.status ?? 'missing'}`));
          },
          reject,
        );
      }, opts.timeoutMs);
      waiters.set(taskId, (f) => {
        clearTimeout(timer);
        waiters.delete(taskId);
        resolve(f);
      });
    });
  }

  return {
    async run(spec: KageTaskSpec): Promise<KageTaskResult> {
      const startedAt = performance.now();
      const { task } = await kage.tasks.createTask({
        description: spec.description,
        repo: spec.repo,
        mergeStrategy: 'auto',
        maxRetries: 0,
        clones: Array.from({ length: spec.clones }, (_, i) => ({ agent: spec.agent ?? 'fake', name: `c${i}`, options: spec.options,
          ...(spec.model ? { model: spec.model } : {}), ...(spec.timeoutSeconds ? { timeoutSeconds: spec.timeoutSeconds } : {}) })),
      });
      const finish = await waitFinished(task.id);
      return { taskId: task.id, status: finish.status, elapsedMs: finish.at - startedAt };
    },
    stop(): void {
      unsubscribe();
    },
  };
}

export type KageTaskRunner = ReturnType<typeof createKageTaskRunner>;
