// Counts the tasks that finished, from the event log's in-process `task_finished` notifications: a counter,
// a tally per status and the first few unsuccessful ids, nothing per task, so tracking thousands of tasks
// does not grow the process whose memory is being measured.

import type { Kage } from '../main/app.js';

export interface TaskFinishes {
  /** Tasks finished since tracking began. */
  count(): number;
  /** Finished tasks per final status. */
  statuses(): Record<string, number>;
  /** Ids of the first tasks that did not end `completed`. */
  unsuccessful(): string[];
  /** Resolves once `count` tasks have finished; fails after `timeoutMs` with the count reached. */
  until(count: number, timeoutMs: number): Promise<void>;
  stop(): void;
}

const UNSUCCESSFUL_KEPT = 5;

export function trackTaskFinishes(kage: Kage): TaskFinishes {
  let finished = 0;
  const unsuccessful: string[] = [];
  const statuses: Record<string, number> = {};
  let wake = (): void => undefined;
  const unsubscribe = kage.ctx.events.onStored((events) => {
    let any = false;
    for (const e of events) {
      if (e.type !== 'task_finished') continue;
      const status = String(e.payload.status ?? 'unknown');
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 'completed' && unsuccessful.length < UNSUCCESSFUL_KEPT) unsuccessful.push(e.taskId);
      finished++;
      any = true;
    }
    if (any) wake();
  });
  return {
    count: () => finished,
    statuses: () => ({ ...statuses }),
    unsuccessful: () => [...unsuccessful],
    until(count, timeoutMs) {
      if (finished >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          wake = () => undefined;
          reject(new Error(`Only ${finished} of ${count} tasks finished after ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        wake = () => {
          if (finished < count) return;
          clearTimeout(timer);
          wake = () => undefined;
          resolve();
        };
      });
    },
    stop: unsubscribe,
  };
}
