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
  const listeners = new Set<(events: EventRecord[]) => void>();

  const drain = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    const batch = pending;
    pending = [];
    if (batch.length === 0) return chain;
    chain = chain.then(async () => {
      try {
        const stored = await store.appendEvents(batch);
        for (const l of listeners) l(stored);
      } catch (err) {
        opts.onError?.(err);
      }
    });
    return chain;
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
