import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../domain/index.js';
import type { NewEvent, PgStore } from '../store/pg-store.js';
import { createEventLog } from './event-log.js';

/** A store whose writes finish only when the test releases them, recording each batch. */
function heldStore() {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  let nextId = 1;
  const store = {
    appendEvents(events: NewEvent[]): Promise<EventRecord[]> {
      batches.push(events.map((e) => e.type));
      return new Promise((resolve) => {
        releases.push(() => resolve(events.map((e) => ({ ...e, id: String(nextId++), createdAt: new Date() }))));
      });
    },
  };
  return { store: store as unknown as PgStore, batches, release: () => releases.shift()?.() };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createEventLog', () => {
  it('folds the flushes made during a write into one next write, in emit order', async () => {
    const { store, batches, release } = heldStore();
    const log = createEventLog(store, { batchDelayMs: 60_000 });
    const stored: string[] = [];
    log.onStored((events) => stored.push(...events.map((e) => e.type)));

    log.emit('t', null, 'a');
    const first = log.flush();
    await tick();
    const later: Promise<void>[] = [];
    for (const type of ['b', 'c', 'd']) {
      log.emit('t', null, type);
      later.push(log.flush());
    }
    await tick();
    expect(batches).toEqual([['a']]);

    release();
    await first;
    await tick();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    release();
    await Promise.all(later);
    expect(stored).toEqual(['a', 'b', 'c', 'd']);
  });

  it('resolves a flush only once everything emitted before it is stored, even behind a write in flight', async () => {
    const { store, release } = heldStore();
    const log = createEventLog(store, { batchDelayMs: 60_000 });
    const stored: string[] = [];
    log.onStored((events) => stored.push(...events.map((e) => e.type)));
    log.emit('t', null, 'a');
    void log.flush();
    await tick();
    log.emit('t', null, 'b');
    let done = false;
    const flushed = log.flush().then(() => (done = true));
    release();
    await tick();
    expect(stored).toEqual(['a']);
    expect(done).toBe(false);
    release();
    await flushed;
    expect(stored).toEqual(['a', 'b']);
  });
});
