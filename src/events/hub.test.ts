// The event hub against a real database: events from this process (event log bus) and from another one
// (NOTIFY), resume points, many subscribers on one query per wake-up, and unsubscribing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../domain/index.js';
import type { Kage } from '../main/app.js';
import { PgStore } from '../store/pg-store.js';
import { freshDatabase, openKage, waitFor } from '../../test/support/harness.js';
import { createEventLog, type EventLog } from './event-log.js';
import { createEventHub, type EventHub } from './hub.js';

let url: string;
let kage: Kage;
let hub: EventHub;
/** A second writer on the same database, as another process would be. */
let otherStore: PgStore;
let otherLog: EventLog;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  url = await freshDatabase();
  kage = await openKage({ databaseUrl: url });
  // No safety poll within a test's time: whatever arrives came through the bus or NOTIFY.
  hub = await createEventHub(kage.ctx.store, kage.ctx.events, { pollMs: 600_000 });
  otherStore = new PgStore(url, 2);
  otherLog = createEventLog(otherStore);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await hub?.close();
  await otherLog?.flush();
  await otherStore?.close();
  await kage?.close();
});

async function newTask(): Promise<string> {
  const id = randomUUID();
  await kage.ctx.store.createTask({ id, description: 'hub test task', repo: '/nowhere', baseRef: 'main', baseCommit: 'abc',
    checkCommand: null, setupCommand: null, mergeStrategy: 'theirs', maxRetries: 0, retryDelayMs: 1000,
    checkTimeoutMs: 60_000, createdBy: null }, []);
  return id;
}

function collect(h: EventHub, taskId: string, afterId = '0'): { got: EventRecord[]; stop: () => void } {
  const got: EventRecord[] = [];
  const stop = h.subscribe(taskId, afterId, (events) => got.push(...events));
  return { got, stop };
}

async function stored(taskId: string): Promise<string[]> {
  return (await kage.ctx.store.listEvents(taskId, '0', 100_000)).map((e) => e.id);
}

/** Waits until the subscriber has as many events as the table holds for the task, then compares ids. */
async function receivedAll(sub: { got: EventRecord[] }, taskId: string, afterId = '0'): Promise<void> {
  const expected = (await stored(taskId)).filter((id) => BigInt(id) > BigInt(afterId));
  await waitFor(`${expected.length} events`, async () => (sub.got.length >= expected.length ? true : undefined), 15_000);
  expect(sub.got.map((e) => e.id)).toEqual(expected);
}

describe('event hub', () => {
  it('delivers events written by this process and by another one in id order', async () => {
    const taskId = await newTask();
    kage.ctx.events.emit(taskId, null, 'before_subscribe', { n: 0 });
    await kage.ctx.events.flush();
    const sub = collect(hub, taskId);
    for (let i = 1; i <= 30; i++) {
      kage.ctx.events.emit(taskId, null, 'local', { i });
      otherLog.emit(taskId, null, 'remote', { i });
      if (i % 7 === 0) await Promise.all([kage.ctx.events.flush(), otherLog.flush()]);
    }
    await Promise.all([kage.ctx.events.flush(), otherLog.flush()]);
    await receivedAll(sub, taskId);
    expect(sub.got).toHaveLength(61);
    expect(sub.got[0]!.type).toBe('before_subscribe');
    expect(sub.got.filter((e) => e.type === 'remote').map((e) => e.payload.i)).toEqual([...Array(30).keys()].map((i) => i + 1));
    sub.stop();
  });

  it('starts a subscriber right after the event id it gives', async () => {
    const taskId = await newTask();
    for (let i = 0; i < 10; i++) kage.ctx.events.emit(taskId, null, 'step', { i });
    await kage.ctx.events.flush();
    const ids = await stored(taskId);
    const sub = collect(hub, taskId, ids[3]!);
    await receivedAll(sub, taskId, ids[3]!);
    expect(sub.got.map((e) => e.payload.i)).toEqual([4, 5, 6, 7, 8, 9]);
    otherLog.emit(taskId, null, 'step', { i: 10 });
    await otherLog.flush();
    await receivedAll(sub, taskId, ids[3]!);
    expect(sub.got.at(-1)!.payload.i).toBe(10);
    sub.stop();
  });

  it('gives each of 100 subscribers every event exactly once with one table read per wake-up', async () => {
    const store = new PgStore(url, 4);
    let reads = 0;
    const listEvents = store.listEvents.bind(store);
    store.listEvents = (...args) => {
      reads++;
      return listEvents(...args);
    };
    const log = createEventLog(store);
    const counted = await createEventHub(store, log, { pollMs: 600_000 });
    closers.push(async () => {
      await counted.close();
      await log.flush();
      await store.close();
    });
    const taskId = await newTask();
    for (let i = 0; i < 5; i++) log.emit(taskId, null, 'history', { i });
    await log.flush();
    const subs = Array.from({ length: 100 }, () => collect(counted, taskId));
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 5; i++) (i % 2 === 0 ? log : otherLog).emit(taskId, null, 'live', { batch, i });
      await Promise.all([log.flush(), otherLog.flush()]);
    }
    for (const sub of subs) await receivedAll(sub, taskId);
    for (const sub of subs) expect(new Set(sub.got.map((e) => e.id)).size).toBe(105);
    // One read per subscriber per wake-up would be thousands.
    expect(reads).toBeLessThan(200);
    for (const sub of subs) sub.stop();
    expect(counted.stats()).toEqual({ tasks: 0, subscribers: 0, polling: false });
  });

  it('hands a late subscriber the history it missed while others are live', async () => {
    const taskId = await newTask();
    const early = collect(hub, taskId);
    for (let i = 0; i < 50; i++) kage.ctx.events.emit(taskId, null, 'step', { i });
    const flushed = kage.ctx.events.flush();
    const late = collect(hub, taskId);
    await flushed;
    for (let i = 50; i < 60; i++) otherLog.emit(taskId, null, 'step', { i });
    await otherLog.flush();
    await receivedAll(early, taskId);
    await receivedAll(late, taskId);
    early.stop();
    late.stop();
  });

  it('gives a subscriber that joins during a read from a later point the history before that point', async () => {
    const taskId = await newTask();
    for (let i = 0; i < 10; i++) kage.ctx.events.emit(taskId, null, 'step', { i });
    await kage.ctx.events.flush();
    const ids = await stored(taskId);
    // The first subscribe starts a read after ids[5]; the second joins from the start while it is in flight.
    const ahead = collect(hub, taskId, ids[5]!);
    const behind = collect(hub, taskId);
    await receivedAll(ahead, taskId, ids[5]!);
    await receivedAll(behind, taskId);
    ahead.stop();
    behind.stop();
  });

  it('stops delivering to a subscriber that unsubscribed and keeps nothing for the task', async () => {
    const taskId = await newTask();
    const leaving = collect(hub, taskId);
    const staying = collect(hub, taskId);
    kage.ctx.events.emit(taskId, null, 'first', {});
    await kage.ctx.events.flush();
    await receivedAll(leaving, taskId);
    leaving.stop();
    kage.ctx.events.emit(taskId, null, 'second', {});
    otherLog.emit(taskId, null, 'third', {});
    await Promise.all([kage.ctx.events.flush(), otherLog.flush()]);
    // Both subscribers share every read, so once the one staying has the later events the other would too.
    await receivedAll(staying, taskId);
    expect(leaving.got.map((e) => e.type)).toEqual(['first']);
    expect(hub.stats()).toMatchObject({ tasks: 1, subscribers: 1 });
    staying.stop();
    expect(hub.stats()).toEqual({ tasks: 0, subscribers: 0, polling: false });
  });

  it('catches up through the safety poll when no wake-up arrives', async () => {
    const deaf = new PgStore(url, 2);
    deaf.listen = async () => () => undefined;
    const silent: EventLog = { emit: () => undefined, flush: async () => undefined, onStored: () => () => undefined };
    const polled = await createEventHub(deaf, silent, { pollMs: 100 });
    closers.push(async () => {
      await polled.close();
      await deaf.close();
    });
    const taskId = await newTask();
    const sub = collect(polled, taskId);
    expect(polled.stats().polling).toBe(true);
    otherLog.emit(taskId, null, 'unannounced', {});
    await otherLog.flush();
    await receivedAll(sub, taskId);
    sub.stop();
    expect(polled.stats().polling).toBe(false);
  });

  it('rejects a resume point that is not an event id', () => {
    expect(() => hub.subscribe(randomUUID(), 'abc', () => undefined)).toThrow(/event id/);
    expect(() => hub.subscribe(randomUUID(), '99999999999999999999', () => undefined)).toThrow(/event id/);
    expect(hub.stats().subscribers).toBe(0);
  });
});
