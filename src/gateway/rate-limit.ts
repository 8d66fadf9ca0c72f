// Rate limits on the request path: per provider (a gateway forwards each provider with one upstream key, so
// that is per upstream key too) at most `requests` requests reaching the provider and `tokens` tokens metered
// in any window, with the requests over it waiting in a queue that is fair across clones, up to a maximum wait.
//
// Why a sliding window and not a bucket that refills at a steady rate: a bucket of N with a refill of N per
// minute lets a burst of N through and N more within the same minute, twice what "N per minute" promises and
// what providers count. Here each slot comes back exactly one window after it was used, so no window sees
// more than N requests, bursts included.
//
// Why a slot is held until the answer begins, and comes back a window after that rather than a window after
// the request was let through: the provider counts a request when it arrives, and the time from our start to
// its arrival varies (a new connection, a TLS handshake, a busy machine). Counted from our start, a batch that
// arrived late and the next batch that arrived promptly would land in one of the provider's windows, more
// than N of them. The first byte of the answer comes after the provider had the request, so a slot returned a
// window after it can only be used by a request that arrives a full window after the one before it.
//
// Why round-robin by clone: the queue holds each clone's waiting requests in its own line and takes the next
// request from the next clone in turn, so a clone that sends ten requests at once delays another clone's one
// request by at most one turn, not by ten.
import type { GatewayProvider, GatewayRequestRecord } from '../domain/index.js';
import type { GatewayRejection, GatewayRequestInfo, GatewayStep } from './steps.js';

export interface RateLimit {
  /** Requests that may start in any window; null: no request limit. */
  requests: number | null;
  /** Tokens (input + output + cache writes, as metered) that may be counted in any window; null: no token limit. */
  tokens: number | null;
  /** Default 60 s: the limits are per minute. Tests use a few seconds. */
  windowMs: number;
  /** Longest a request waits for room before it is refused with a 429. */
  maxWaitMs: number;
}

/** Time and timers, injectable so the queue is tested without waiting. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

/** What a waiting request reports: when it starts to wait, and when it stops. */
export type RateLimitWait =
  /** Queued behind `queued` others; the next slot frees in `nextSlotMs`. */
  | { state: 'waiting'; queued: number; nextSlotMs: number }
  /** Got its turn after `waitedMs`. */
  | { state: 'admitted'; waitedMs: number }
  /** Waited the maximum and is refused with a 429. */
  | { state: 'refused'; waitedMs: number };

export interface RateLimiterOptions {
  /** The limit of each provider; a provider without one is not limited. */
  limits: Partial<Record<GatewayProvider, RateLimit>>;
  clock?: Clock;
  onWait?(request: GatewayRequestInfo, wait: RateLimitWait): void;
}

export interface RateLimiter {
  /** The gateway step: waits for room, then holds a slot for the request until its answer begins. */
  step: GatewayStep;
  /**
   * The same wait and slot for an upstream retry (each retry is a request the provider counts); the slot of
   * the attempt before, whose answer came back, is returned first.
   */
  acquire: GatewayStep;
  /**
   * Every metered request (GatewayOptions.onMetered): returns its slot a window after its answer began, and
   * counts its tokens against its provider's token limit. A request admitted but never metered returns its
   * slot shortly after its client connection closes.
   */
  onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void;
}

interface Waiter {
  request: GatewayRequestInfo;
  signal: AbortSignal;
  since: number;
  done(rejection: GatewayRejection | null): void;
}

/** A slot taken by a request whose answer has not begun. */
interface HeldSlot {
  bucket: Bucket;
  admittedAt: number;
  /** Stops watching the request's client connection. */
  cancel(): void;
}

/** How long after its client connection closed a request that was never metered (an internal error) keeps its slot. */
const UNMETERED_GRACE_MS = 1000;

interface Bucket {
  limit: RateLimit;
  /** When the answers of the requests of the current window began, oldest first: each slot is free a window later. */
  starts: number[];
  /** Requests admitted whose answer has not begun: each holds a slot. */
  held: number;
  /** Tokens metered in the current window, oldest first. */
  spent: { at: number; tokens: number }[];
  spentTotal: number;
  /** Waiting requests by clone; the map's order is the turn order. */
  lines: Map<string, Waiter[]>;
  cancelPump: (() => void) | null;
}

/** Tokens a metered request counts against a token limit: what the model newly read or wrote. */
function meteredTokens(record: GatewayRequestRecord): number {
  return record.inputTokens + record.outputTokens + record.cacheWriteTokens;
}

/**
 * The earliest time at or after `now` when one more request may start in `bucket`; Infinity while every slot
 * is held by a request whose answer has not begun (one that begins frees a slot a window later).
 */
export function nextStartAt(bucket: Pick<Bucket, 'limit' | 'starts' | 'held' | 'spent' | 'spentTotal'>, now: number): number {
  const { limit } = bucket;
  let at = now;
  if (limit.requests !== null) {
    const free = limit.requests - bucket.held;
    if (free <= 0) return Infinity;
    if (bucket.starts.length >= free) at = Math.max(at, bucket.starts[bucket.starts.length - free]! + limit.windowMs);
  }
  if (limit.tokens !== null && bucket.spentTotal >= limit.tokens) {
    let total = bucket.spentTotal;
    for (const entry of bucket.spent) {
      total -= entry.tokens;
      if (total < limit.tokens) {
        at = Math.max(at, entry.at + limit.windowMs);
        break;
      }
    }
  }
  return at;
}

function cloneOf(request: GatewayRequestInfo): string {
  return request.grant.cloneId ?? `task:${request.grant.taskId}`;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const clock = options.clock ?? systemClock;
  const buckets = new Map<GatewayProvider, Bucket>();
  const slots = new WeakMap<GatewayRequestInfo, HeldSlot>();

  function bucketOf(provider: GatewayProvider): Bucket | null {
    const limit = options.limits[provider];
    if (limit === undefined || (limit.requests === null && limit.tokens === null)) return null;
    let bucket = buckets.get(provider);
    if (bucket === undefined) {
      bucket = { limit, starts: [], held: 0, spent: [], spentTotal: 0, lines: new Map(), cancelPump: null };
      buckets.set(provider, bucket);
    }
    return bucket;
  }

  function forget(bucket: Bucket, now: number): void {
    const since = now - bucket.limit.windowMs;
    while (bucket.starts.length > 0 && bucket.starts[0]! <= since) bucket.starts.shift();
    while (bucket.spent.length > 0 && bucket.spent[0]!.at <= since) bucket.spentTotal -= bucket.spent.shift()!.tokens;
  }

  function report(request: GatewayRequestInfo, wait: RateLimitWait): void {
    try {
      options.onWait?.(request, wait);
    } catch {
      // A listener's failure must not stall the queue.
    }
  }

  /** Takes the next waiter in turn: the first clone's oldest request; that clone goes to the back of the line. */
  function nextWaiter(bucket: Bucket): Waiter | null {
    for (const [clone, line] of bucket.lines) {
      bucket.lines.delete(clone);
      const waiter = line.shift();
      if (line.length > 0) bucket.lines.set(clone, line);
      if (waiter !== undefined) return waiter;
    }
    return null;
  }

  function remove(bucket: Bucket, waiter: Waiter): void {
    const clone = cloneOf(waiter.request);
    const line = bucket.lines.get(clone);
    if (line === undefined) return;
    const index = line.indexOf(waiter);
    if (index >= 0) line.splice(index, 1);
    if (line.length === 0) bucket.lines.delete(clone);
  }

  /** Takes a slot for `request` until its answer begins (`release`). */
  function hold(bucket: Bucket, request: GatewayRequestInfo, signal: AbortSignal, now: number): void {
    bucket.held += 1;
    let cancelGrace = (): void => undefined;
    // The client connection closes after every answer, metered or not; metering normally comes first.
    const onClose = (): void => {
      const closedAt = clock.now();
      cancelGrace = clock.setTimer(() => release(request, closedAt), UNMETERED_GRACE_MS);
    };
    signal.addEventListener('abort', onClose, { once: true });
    slots.set(request, { bucket, admittedAt: now, cancel: () => {
      signal.removeEventListener('abort', onClose);
      cancelGrace();
    } });
  }

  /** The answer to `request` began at `at`: its slot is free a window later. */
  function release(request: GatewayRequestInfo, at: number): void {
    const slot = slots.get(request);
    if (slot === undefined) return;
    slots.delete(request);
    slot.cancel();
    const { bucket } = slot;
    bucket.held -= 1;
    const startedAt = Math.max(at, slot.admittedAt);
    let i = bucket.starts.length;
    while (i > 0 && bucket.starts[i - 1]! > startedAt) i -= 1;
    bucket.starts.splice(i, 0, startedAt);
    pump(bucket);
  }

  /** Starts every waiter there is room for, in turn, and sets a timer for when the next slot frees. */
  function pump(bucket: Bucket): void {
    bucket.cancelPump?.();
    bucket.cancelPump = null;
    const now = clock.now();
    forget(bucket, now);
    while (bucket.lines.size > 0) {
      const at = nextStartAt(bucket, now);
      if (at > now) {
        // Every slot held: the next `release` pumps again.
        if (at !== Infinity) bucket.cancelPump = clock.setTimer(() => pump(bucket), at - now);
        return;
      }
      const waiter = nextWaiter(bucket);
      if (waiter === null) return;
      hold(bucket, waiter.request, waiter.signal, now);
      waiter.done(null);
      report(waiter.request, { state: 'admitted', waitedMs: now - waiter.since });
    }
  }

  /** Milliseconds until a slot may free, for reports: at least a window while every slot is held. */
  function untilNextSlot(bucket: Bucket, now: number): number {
    const at = nextStartAt(bucket, now);
    return at === Infinity ? bucket.limit.windowMs : at - now;
  }

  const acquire: GatewayStep = (request, signal) => {
    const bucket = bucketOf(request.provider);
    if (bucket === null) return null;
    // A retry: the answer to the attempt before came back, so its slot counts from now at the latest.
    release(request, clock.now());
    if (signal.aborted) return null;
    const now = clock.now();
    forget(bucket, now);
    const nextAt = nextStartAt(bucket, now);
    if (bucket.lines.size === 0 && nextAt <= now) {
      hold(bucket, request, signal, now);
      return null;
    }
    return new Promise<GatewayRejection | null>((resolve) => {
      let queued = 0;
      for (const line of bucket.lines.values()) queued += line.length;
      let cancelMaxWait = (): void => undefined;
      const onAbort = (): void => {
        remove(bucket, waiter);
        waiter.done(null);
        pump(bucket);
      };
      const waiter: Waiter = {
        request,
        signal,
        since: now,
        done(rejection) {
          cancelMaxWait();
          signal.removeEventListener('abort', onAbort);
          resolve(rejection);
        },
      };
      const line = bucket.lines.get(cloneOf(request));
      if (line === undefined) bucket.lines.set(cloneOf(request), [waiter]);
      else line.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      cancelMaxWait = clock.setTimer(() => {
        remove(bucket, waiter);
        const at = clock.now();
        const retryAfterS = Math.max(1, Math.ceil(untilNextSlot(bucket, at) / 1000));
        waiter.done({
          status: 429,
          message: `kage gateway: ${request.provider} rate limit reached; waited ${Math.round((at - now) / 1000)} s for a slot (the most allowed)`,
          headers: { 'retry-after': String(retryAfterS), 'x-kage-gateway-error': 'rate-limited' },
        });
        report(request, { state: 'refused', waitedMs: at - now });
        pump(bucket);
      }, bucket.limit.maxWaitMs);
      report(request, { state: 'waiting', queued, nextSlotMs: untilNextSlot(bucket, now) });
      pump(bucket);
    });
  };

  function onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void {
    if (slots.has(request)) {
      const now = clock.now();
      // The answer's first byte came `latency - ttfb` ago; without one, now is the latest it can have begun.
      release(request, record.ttfbMs === null ? now : Math.ceil(now - Math.max(0, record.latencyMs - record.ttfbMs)));
    }
    const bucket = bucketOf(request.provider);
    if (bucket === null || bucket.limit.tokens === null) return;
    const tokens = meteredTokens(record);
    if (tokens <= 0) return;
    bucket.spent.push({ at: clock.now(), tokens });
    bucket.spentTotal += tokens;
  }

  return { step: acquire, acquire, onMetered };
}
