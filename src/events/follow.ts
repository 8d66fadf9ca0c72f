// Follows a task's events from any process: stored history first, then new events as NOTIFY wakes us.
// The table is the truth; a notification only says "read again", so a lost one costs at most a poll tick.
import type { EventRecord } from '../domain/index.js';
import type { PgStore } from '../store/pg-store.js';

export interface Follower {
  /** Resolves when `stop()` is called. */
  done: Promise<void>;
  stop(): void;
}

export async function followEvents(store: PgStore, taskId: string, opts: {
  afterId?: string;
  onEvents: (events: EventRecord[]) => void | Promise<void>;
  /** Safety net for lost notifications. */
  pollMs?: number;
}): Promise<Follower> {
  let last = opts.afterId ?? '0';
  let stopped = false;
  let reading: Promise<void> | null = null;
  let again = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const read = (): void => {
    if (stopped) return;
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        for (;;) {
          const batch = await store.listEvents(taskId, last, 500);
          if (batch.length === 0 || stopped) break;
          last = batch[batch.length - 1]!.id;
          await opts.onEvents(batch);
          if (batch.length < 500) break;
        }
      } while (again && !stopped);
    })()
      .catch(() => undefined)
      .finally(() => {
        reading = null;
      });
  };

  const unlisten = await store.listen('kage_events', (payload) => {
    if (payload.startsWith(`${taskId}:`)) read();
  });
  const timer = setInterval(read, opts.pollMs ?? 2000);
  timer.unref();
  read();
  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      unlisten();
      resolveDone();
    },
  };
}
