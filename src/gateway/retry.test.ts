import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelayMs } from './retry.js';

const POLICY = { maxRetries: 5, baseMs: 1000, maxMs: 60_000, random: () => 1 };

describe('retryDelayMs', () => {
  it('honours Retry-After in seconds or as an HTTP date', () => {
    expect(retryDelayMs(POLICY, 0, 429, '2', 0)).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryDelayMs(POLICY, 0, 503, 'Wed, 01 Jan 2025 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('soon', now)).toBeNull();
  });

  it('backs off exponentially with jitter, capped, without Retry-After', () => {
    expect([0, 1, 2, 3].map((n) => retryDelayMs(POLICY, n, 529, undefined, 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs({ ...POLICY, maxRetries: 10 }, 9, 429, undefined, 0)).toBe(60_000);
    expect(retryDelayMs({ ...POLICY, random: () => 0 }, 2, 429, undefined, 0)).toBe(2000);
  });

  it('does not retry other statuses, past the last retry, or a Retry-After beyond the maximum', () => {
    expect(retryDelayMs(POLICY, 0, 500, '1', 0)).toBeNull();
    expect(retryDelayMs(POLICY, 5, 429, '1', 0)).toBeNull();
    expect(retryDelayMs(POLICY, 0, 429, '120', 0)).toBeNull();
  });
});
