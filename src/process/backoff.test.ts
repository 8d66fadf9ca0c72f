import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RETRY_DELAY_MS, retryDelayMs } from './backoff.js';

describe('retryDelayMs', () => {
  it('doubles the base delay for each retry', () => {
    expect([0, 1, 2, 3].map((i) => retryDelayMs(1_000, i))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('caps the delay at ten minutes by default', () => {
    expect(DEFAULT_MAX_RETRY_DELAY_MS).toBe(600_000);
    expect(retryDelayMs(1_000, 10)).toBe(600_000);
    expect(retryDelayMs(1_000, 5_000)).toBe(600_000);
  });

  it('caps the delay at the given maximum', () => {
    expect(retryDelayMs(500, 4, 3_000)).toBe(3_000);
    expect(retryDelayMs(500, 2, 3_000)).toBe(2_000);
  });

  it('treats a negative base or index as zero', () => {
    expect(retryDelayMs(-5, 3)).toBe(0);
    expect(retryDelayMs(100, -1)).toBe(100);
  });
});
