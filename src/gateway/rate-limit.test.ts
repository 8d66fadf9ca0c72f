import { describe, expect, it } from 'vitest';
import type { GatewayRequestRecord } from '../domain/index.js';
import { createRateLimiter, nextStartAt, type Clock, type RateLimit, type RateLimitWait } from './rate-limit.js';
import type { GatewayRejection, GatewayRequestInfo } from './steps.js';

/** Lets pending promise callbacks run (no timer involved). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A clock whose time moves only by `advance`, firing due timers in order. */
function fakeClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    async advance(ms) {
      await settle();
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
        await settle();
      }
      now = until;
      await settle();
    },
  };
}

function info(clone: string, provider: GatewayRequestInfo['provider'] = 'anthropic'): GatewayRequestInfo {
  return { grant: { taskId: 't', cloneId: clone }, provider, model: 'm', method: 'POST', path: '/v1/messages', bodyBytes: 10 };
}

const LIMIT: RateLimit = { requests: 2, tokens: null, windowMs: 1000, maxWaitMs: 10_000 };
const live = new AbortController().signal;

/** A metered request whose answer took `latencyMs`, its first byte `ttfbMs` after it was let through. */
function answered(latencyMs = 0, ttfbMs: number | null = 0, tokens = 0): GatewayRequestRecord {
  return { inputTokens: tokens, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, latencyMs, ttfbMs } as GatewayRequestRecord;
}

type Limiter = ReturnType<typeof createRateLimiter>;

/**
 * Starts a request through the step and records when it was let through (or refused); one let through is
 * answered at once, unless `answer` is false.
 */
function track(limiter: Limiter, request: GatewayRequestInfo, clock: Clock, log: { clone: string; at: number; rejection: GatewayRejection | null }[],
  signal = live, answer = true): void {
  void Promise.resolve(limiter.step(request, signal)).then((rejection) => {
    log.push({ clone: request.grant.cloneId!, at: clock.now(), rejection });
    if (rejection === null && answer) limiter.onMetered(answered(), request);
  });
}

/** Lets one request through at once and answers it. */
async function through(limiter: Limiter, request: GatewayRequestInfo): Promise<void> {
  expect(await limiter.step(request, live)).toBeNull();
  limiter.onMetered(answered(), request);
}

describe('nextStartAt', () => {
  it('frees a slot exactly one window after the start it replaces', () => {
    expect(nextStartAt({ limit: LIMIT, starts: [100], held: 0, spent: [], spentTotal: 0 }, 200)).toBe(200);
    expect(nextStartAt({ limit: LIMIT, starts: [100, 300], held: 0, spent: [], spentTotal: 0 }, 400)).toBe(1100);
    const tokens = { ...LIMIT, requests: null, tokens: 100 };
    expect(nextStartAt({ limit: tokens, starts: [], held: 0, spent: [{ at: 0, tokens: 80 }, { at: 500, tokens: 40 }], spentTotal: 120 }, 600)).toBe(1000);
  });

  it('counts a request whose answer has not begun as a slot taken until it does', () => {
    expect(nextStartAt({ limit: LIMIT, starts: [100], held: 1, spent: [], spentTotal: 0 }, 400)).toBe(1100);
    expect(nextStartAt({ limit: LIMIT, starts: [], held: 2, spent: [], spentTotal: 0 }, 400)).toBe(Infinity);
  });
});

describe('createRateLimiter', () => {
  it('lets no window see more starts than the limit, bursts included', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: LIMIT }, clock });
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    for (let i = 0; i < 7; i += 1) track(limiter, info('a'), clock, log);
    await clock.advance(5000);
    const starts = log.map((e) => e.at);
    expect(starts).toEqual([0, 0, 1000, 1000, 2000, 2000, 3000]);
    for (const t of starts) expect(starts.filter((s) => s > t - 1000 && s <= t).length).toBeLessThanOrEqual(2);
  });

  it('takes waiting requests round-robin by clone, so a busy clone cannot starve another', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    for (let i = 0; i < 4; i += 1) track(limiter, info('busy'), clock, log);
    track(limiter, info('quiet'), clock, log);
    track(limiter, info('other'), clock, log);
    await clock.advance(10_000);
    expect(log.map((e) => e.clone)).toEqual(['busy', 'busy', 'quiet', 'other', 'busy', 'busy']);
  });

  it('keeps providers apart and leaves a provider without a limit alone', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    await through(limiter, info('a'));
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('a'), clock, log);
    for (let i = 0; i < 5; i += 1) expect(await limiter.step(info('a', 'openai'), live)).toBeNull();
    await clock.advance(0);
    expect(log).toEqual([]);
    await clock.advance(1000);
    expect(log).toEqual([{ clone: 'a', at: 1000, rejection: null }]);
  });

  it('refuses with a 429 and Retry-After after the maximum wait, and reports the wait', async () => {
    const clock = fakeClock();
    const waits: RateLimitWait[] = [];
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1, windowMs: 60_000, maxWaitMs: 5000 } }, clock,
      onWait: (_r, w) => waits.push(w) });
    await through(limiter, info('a'));
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('b'), clock, log);
    await clock.advance(5000);
    expect(log).toHaveLength(1);
    expect(log[0]!.at).toBe(5000);
    expect(log[0]!.rejection).toMatchObject({ status: 429, headers: { 'retry-after': '55', 'x-kage-gateway-error': 'rate-limited' } });
    expect(waits).toEqual([{ state: 'waiting', queued: 0, nextSlotMs: 60_000 }, { state: 'refused', waitedMs: 5000 }]);
  });

  it('stops waiting when the client goes away, and gives its turn to the next', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    await through(limiter, info('a'));
    const gone = new AbortController();
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('b'), clock, log, gone.signal);
    track(limiter, info('c'), clock, log);
    gone.abort();
    await clock.advance(1000);
    expect(log).toEqual([{ clone: 'b', at: 0, rejection: null }, { clone: 'c', at: 1000, rejection: null }]);
  });

  it('holds requests while the metered tokens of the window are at the token limit', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { requests: null, tokens: 100, windowMs: 1000, maxWaitMs: 10_000 } }, clock });
    const request = info('a');
    await limiter.step(request, live);
    limiter.onMetered({ inputTokens: 90, outputTokens: 10, cacheReadTokens: 500, cacheWriteTokens: 0 } as GatewayRequestRecord, request);
    await clock.advance(300);
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('b'), clock, log);
    await clock.advance(2000);
    expect(log).toEqual([{ clone: 'b', at: 1000, rejection: null }]);
  });

  it('returns a slot a window after the answer began, so a request delayed on its way cannot share a window with the next', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    const first = info('a');
    expect(await limiter.step(first, live)).toBeNull();
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('b'), clock, log);
    // The first request took 400 ms to reach the provider and be answered: its first byte came at 400.
    await clock.advance(1200);
    expect(log).toEqual([]);
    limiter.onMetered(answered(1200, 400), first);
    await clock.advance(0);
    expect(log).toEqual([]);
    await clock.advance(200);
    expect(log).toEqual([{ clone: 'b', at: 1400, rejection: null }]);
  });

  it('returns the slot of an attempt answered with a retryable status when its retry asks for one', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    const request = info('a');
    expect(await limiter.step(request, live)).toBeNull();
    await clock.advance(500);
    let retried: GatewayRejection | null | 'waiting' = 'waiting';
    void Promise.resolve(limiter.acquire(request, live)).then((r) => (retried = r));
    await clock.advance(999);
    expect(retried).toBe('waiting');
    await clock.advance(1);
    expect(retried).toBeNull();
  });

  it('gives the slot of a request that was never metered back once its client connection has closed', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limits: { anthropic: { ...LIMIT, requests: 1 } }, clock });
    const closed = new AbortController();
    expect(await limiter.step(info('a'), closed.signal)).toBeNull();
    const log: { clone: string; at: number; rejection: GatewayRejection | null }[] = [];
    track(limiter, info('b'), clock, log);
    await clock.advance(5000);
    expect(log).toEqual([]);
    closed.abort();
    await clock.advance(6000);
    expect(log).toEqual([{ clone: 'b', at: 6000, rejection: null }]);
  });
});
