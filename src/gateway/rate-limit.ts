// Rate limits on the request path: per provider (a gateway forwards each provider with one upstream key, so
// that is per upstream key too) at most `requests` requests started and `tokens` tokens metered in any
// window, with the requests over it waiting in a queue that is fair across clones, up to a maximum wait.
//
// Why a sliding window and not a bucket that refills at a steady rate: a bucket of N with a refill of N per
// minute lets a burst of N through and N more within the same minute, twice what "N per minute" promises and
// what providers count. Here each spent token of the bucket comes back exactly one window after it was
// spent, so no window ever sees more than N starts, bursts included.
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
  /** The gateway step: waits for room, then counts the request as started. */
  step: GatewayStep;
  /** The same wait and count for an upstream retry (each retry is a request the provider counts). */
  acquire: GatewayStep;
  /** Counts each metered request's tokens against its provider's token limit (GatewayOptions.onMetered). */
  onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void;
}

interface Waiter {
  request: GatewayRequestInfo;
  since: number;
  done(rejection: GatewayRejection | null): void;
}

interface Bucket {
  limit: RateLimit;
  /** Start times in the current window, oldest first. */
  starts: number[];
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

/** The earliest time at or after `now` when one more request may start in `bucket`. */
export function nextStartAt(bucket: Pick<Bucket, 'limit' | 'starts' | 'spent' | 'spentTotal'>, now: number): number {
  const { limit } = bucket;
  let at = now;
  if (limit.requests !== null && bucket.starts.length >= limit.requests) {
    at = Math.max(at, bucket.starts[bucket.starts.length - limit.requests]! + limit.windowMs);
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

  function bucketOf(provider: GatewayProvider): Bucket | null {
    const limit = options.limits[provider];
    if (limit === undefined || (limit.requests === null && limit.tokens === null)) return null;
    let bucket = buckets.get(provider);
    if (bucket === undefined) {
      bucket = { limit, starts: [], spent: [], spentTotal: 0, lines: new Map(), cancelPump: null };
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

  /** Starts every waiter there is room for, in turn, and sets a timer for when the next slot frees. */
  function pump(bucket: Bucket): void {
    bucket.cancelPump?.();
    bucket.cancelPump = null;
    const now = clock.now();
    forget(bucket, now);
    while (bucket.lines.size > 0) {
      const at = nextStartAt(bucket, now);
      if (at > now) {
        bucket.cancelPump = clock.setTimer(() => pump(bucket), at - now);
        return;
      }
      const waiter = nextWaiter(bucket);
      if (waiter === null) return;
      bucket.starts.push(now);
      waiter.done(null);
      report(waiter.request, { state: 'admitted', waitedMs: now - waiter.since });
    }
  }

  const acquire: GatewayStep = (request, signal) => {
    const bucket = bucketOf(request.provider);
    if (bucket === null || signal.aborted) return null;
    const now = clock.now();
    forget(bucket, now);
    const nextAt = nextStartAt(bucket, now);
    if (bucket.lines.size === 0 && nextAt <= now) {
      bucket.starts.push(now);
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
        const retryAfterS = Math.max(1, Math.ceil((nextStartAt(bucket, at) - at) / 1000));
        waiter.done({
          status: 429,
          message: `kage gateway: ${request.provider} rate limit reached; waited ${Math.round((at - now) / 1000)} s for a slot (the most allowed)`,
          headers: { 'retry-after': String(retryAfterS), 'x-kage-gateway-error': 'rate-limited' },
        });
        report(request, { state: 'refused', waitedMs: at - now });
        pump(bucket);
      }, bucket.limit.maxWaitMs);
      report(request, { state: 'waiting', queued, nextSlotMs: nextAt - now });
      pump(bucket);
    });
  };

  function onMetered(record: GatewayRequestRecord, request: GatewayRequestInfo): void {
    const bucket = bucketOf(request.provider);
    if (bucket === null || bucket.limit.tokens === null) return;
    const tokens = meteredTokens(record);
    if (tokens <= 0) return;
    bucket.spent.push({ at: clock.now(), tokens });
    bucket.spentTotal += tokens;
  }

  return { step: acquire, acquire, onMetered };
}
