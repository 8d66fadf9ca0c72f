// Appends events to the store in small batches: fsync'd single-row commits are slow, and an agent can
// emit many events in a burst. Order is kept: one flush at a time, in arrival order.
import type { EventRecord } from '../domain/index.js';
import type { NewEvent, PgStore } from '../store/pg-store.js';

export interface EventLog {
  emit(taskId: string, cloneId: string | null, type: string, payload?: Record<string, unknown>): void;
  /** Resolves when everything emitted so far is stored. */
  flush(): Promise<void>;
  /** Called with every batch once stored (in-process subscribers such as the live progress view). */
  onStored(listener: (events: EventRecord[]) => void): () => void;
}

export function createEventLog(store: PgStore, opts: { batchDelayMs?: number; onError?: (err: unknown) => void } = {}): EventLog {
  const delayMs = opts.batchDelayMs ?? 20;
  let pending: NewEvent[] = [];
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  /** The write queued behind the one in flight; it takes whatever is pending when it starts. */
  let next: Promise<void> | null = null;
  const listeners = new Set<(events: EventRecord[]) => void>();

  // Flushes during a write do not each queue a write of their own: they share the next one, so under
  // load (many tasks created at once) events go in few large batches instead of one insert per flush.
  const drain = (): Promise<void> => {
    if (next) return next;
    if (pending.length === 0) return chain;
    next = chain.then(async () => {
      next = null;
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      try {
        const stored = await store.appendEvents(batch);
        for (const l of listeners) l(stored);
      } catch (err) {
        opts.onError?.(err);
      }
    });
    chain = next;
    return next;
  };

  return {
    emit(taskId, cloneId, type, payload = {}) {
      pending.push({ taskId, cloneId, type, payload });
      if (!timer) timer = setTimeout(drain, delayMs);
    },
    flush: drain,
    onStored(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
