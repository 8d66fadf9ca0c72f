// Live event delivery to many subscribers (the SSE streams): one table read per wake-up per task, fanned out
// to every subscriber of that task, each from its own cursor. Wake-ups come from this process's event log
// (the in-process bus) and from one shared LISTEN on `kage_events` (writers in other processes); a slow poll
// of the tasks being watched covers a lost notification. NOTIFY is a hint, the table is the truth.
import type { EventRecord } from '../domain/index.js';
import { KageError, showValue } from '../domain/index.js';
import type { PgStore } from '../store/pg-store.js';
import type { EventLog } from './event-log.js';

export interface EventHub {
  /**
   * Calls `onEvents` with every event of the task whose id is above `afterId`, in id order, each exactly once:
   * stored history first, then live. The array may be shared with other subscribers: do not mutate it.
   * Returns the function that stops delivery.
   */
  subscribe(taskId: string, afterId: string, onEvents: (events: EventRecord[]) => void): () => void;
  /** Tasks being watched, subscribers in all, and whether the safety poll runs (for metrics and leak checks). */
  stats(): { tasks: number; subscribers: number; polling: boolean };
  close(): Promise<void>;
}

export interface EventHubOptions {
  /** Re-read interval for watched tasks, the safety net for a lost notification. */
  pollMs?: number;
  /** Rows per table read. */
  pageSize?: number;
  /** Failed reads (retried on the next wake-up or poll) and subscriber callbacks that threw. */
  onError?: (err: unknown) => void;
}

/** The NOTIFY channel the events table's insert trigger announces `<task_id>:<event_id>` on. */
export const EVENTS_CHANNEL = 'kage_events';

interface Subscriber {
  /** Id of the last event delivered (or the starting point). */
  cursor: bigint;
  onEvents: (events: EventRecord[]) => void;
}

interface Feed {
  taskId: string;
  subscribers: Set<Subscriber>;
  /** The read in flight: at most one per task, wake-ups during it are folded into the next round. */
  reading: Promise<void> | null;
  /** Highest event id announced for the task; a read is due while a subscriber is below it. */
  announced: bigint;
  /** A wake-up without a known id (new subscriber, poll, full page): read at least once more. */
  dirty: boolean;
}

const MAX_EVENT_ID = 2n ** 63n - 1n;

/** Parses an event id (a non-negative integer, as sent in SSE `id:` lines). */
export function parseEventId(raw: string, field = 'afterId'): bigint {
  if (!/^\d{1,19}$/.test(raw) || BigInt(raw) > MAX_EVENT_ID) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be an event id (a non-negative integer), got ${showValue(raw)}`, { field });
  }
  return BigInt(raw);
}

export async function createEventHub(store: PgStore, eventLog: EventLog, opts: EventHubOptions = {}): Promise<EventHub> {
  const pollMs = opts.pollMs ?? 5000;
  const pageSize = opts.pageSize ?? 1000;
  const onError = opts.onError ?? (() => undefined);
  const feeds = new Map<string, Feed>();
  let poll: NodeJS.Timeout | null = null;
  let closed = false;

  const minCursor = (feed: Feed): bigint => {
    let min: bigint | null = null;
    for (const s of feed.subscribers) if (min === null || s.cursor < min) min = s.cursor;
    return min ?? 0n;
  };

  /**
   * Hands a page (every event of the task in (after, last]) to each subscriber whose cursor is at least
   * `after`: for them it continues their stream with no gap. A subscriber further behind (it joined while
   * the read was in flight) waits for the next round, which its own wake-up asked for.
   */
  const deliver = (feed: Feed, after: bigint, page: EventRecord[]): void => {
    const last = BigInt(page[page.length - 1]!.id);
    let ids: bigint[] | null = null;
    for (const sub of [...feed.subscribers]) {
      if (!feed.subscribers.has(sub) || sub.cursor < after || sub.cursor >= last) continue;
      let events = page;
      if (sub.cursor !== after) {
        ids ??= page.map((e) => BigInt(e.id));
        const cursor = sub.cursor;
        events = page.slice(ids.findIndex((id) => id > cursor));
      }
      sub.cursor = last;
      try {
        sub.onEvents(events);
      } catch (err) {
        onError(err);
      }
    }
  };

  const due = (feed: Feed): boolean =>
    !closed && feed.subscribers.size > 0 && (feed.dirty || feed.announced > minCursor(feed));

  /** Reads until nothing is due; false when a read failed (the poll or the next notification retries). */
  const drain = async (feed: Feed): Promise<boolean> => {
    try {
      while (due(feed)) {
        const after = minCursor(feed);
        feed.dirty = false;
        const page = await store.listEvents(feed.taskId, after.toString(), pageSize);
        if (page.length > 0) deliver(feed, after, page);
        if (page.length === pageSize) feed.dirty = true;
      }
      return true;
    } catch (err) {
      // Subscribers keep their cursors, so a retry skips nothing.
      onError(err);
      return false;
    }
  };

  const startRead = (feed: Feed): void => {
    const read: Promise<void> = drain(feed).then((ok) => {
      if (feed.reading !== read) return;
      feed.reading = null;
      // A wake-up between the drain's last check and this callback found the read still marked in flight.
      if (ok && due(feed)) startRead(feed);
    });
    feed.reading = read;
  };

  const wake = (taskId: string, id: bigint | null): void => {
    const feed = feeds.get(taskId);
    if (!feed || closed) return;
    if (id === null) feed.dirty = true;
    else if (id > feed.announced) feed.announced = id;
    // A read in flight loops again for what arrived meanwhile. Our own inserts come back as notifications
    // after the bus already delivered them: those cost no read.
    if (!feed.reading && due(feed)) startRead(feed);
  };

  const startPoll = (): void => {
    if (poll) return;
    poll = setInterval(() => {
      for (const taskId of feeds.keys()) wake(taskId, null);
    }, pollMs);
    poll.unref();
  };

  const stopPoll = (): void => {
    if (!poll) return;
    clearInterval(poll);
    poll = null;
  };

  const unlisten = await store.listen(EVENTS_CHANNEL, (payload) => {
    const colon = payload.lastIndexOf(':');
    const taskId = payload.slice(0, colon);
    if (colon < 0 || !feeds.has(taskId)) return;
    const id = payload.slice(colon + 1);
    wake(taskId, /^\d{1,19}$/.test(id) ? BigInt(id) : null);
  });

  const offStored = eventLog.onStored((events) => {
    if (feeds.size === 0) return;
    const highest = new Map<string, bigint>();
    for (const e of events) {
      if (!feeds.has(e.taskId)) continue;
      const id = BigInt(e.id);
      if (id > (highest.get(e.taskId) ?? -1n)) highest.set(e.taskId, id);
    }
    for (const [taskId, id] of highest) wake(taskId, id);
  });

  return {
    subscribe(taskId, afterId, onEvents) {
      if (closed) throw new Error('The event hub is closed');
      const sub: Subscriber = { cursor: parseEventId(afterId), onEvents };
      let feed = feeds.get(taskId);
      if (!feed) {
        feed = { taskId, subscribers: new Set(), reading: null, announced: 0n, dirty: false };
        feeds.set(taskId, feed);
        startPoll();
      }
      feed.subscribers.add(sub);
      wake(taskId, null);
      const owner = feed;
      return () => {
        if (!owner.subscribers.delete(sub) || owner.subscribers.size > 0) return;
        // A read still in flight for this feed finds no subscriber and stops; a new subscriber gets a new feed.
        if (feeds.get(taskId) === owner) feeds.delete(taskId);
        if (feeds.size === 0) stopPoll();
      };
    },

    stats() {
      let subscribers = 0;
      for (const feed of feeds.values()) subscribers += feed.subscribers.size;
      return { tasks: feeds.size, subscribers, polling: poll !== null };
    },

    async close() {
      if (closed) return;
      closed = true;
      stopPoll();
      unlisten();
      offStored();
      const reads = [...feeds.values()].map((f) => f.reading);
      feeds.clear();
      await Promise.allSettled(reads);
    },
  };
}
