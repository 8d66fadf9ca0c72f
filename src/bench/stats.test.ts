import { describe, expect, it } from 'vitest';
import { mean, quantile, ratio, round, summarize } from './stats.js';

describe('quantile', () => {
  it('returns the middle sample as the median of an odd count', () => {
    expect(quantile([5, 1, 3], 0.5)).toBe(3);
  });

  it('interpolates the median of an even count', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
  });

  it('interpolates p99 between the two largest samples', () => {
    const samples = Array.from({ length: 10 }, (_, i) => (i + 1) * 10);
    expect(quantile(samples, 0.99)).toBeCloseTo(99.1, 10);
  });

  it('returns the extremes at 0 and 1', () => {
    expect(quantile([7, 2, 9], 0)).toBe(2);
    expect(quantile([7, 2, 9], 1)).toBe(9);
  });

  it('does not reorder the caller\'s array', () => {
    const samples = [3, 1, 2];
    quantile(samples, 0.5);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('rejects an empty sample list and a quantile outside 0..1', () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => quantile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports p50, p90, p99, mean, min, max and the count', () => {
    expect(summarize([10, 20, 30, 40])).toEqual({ p50: 25, p90: 37, p99: 39.7, mean: 25, min: 10, max: 40, n: 4 });
  });

  it('gives one sample as every statistic', () => {
    expect(summarize([12.345])).toEqual({ p50: 12.3, p90: 12.3, p99: 12.3, mean: 12.3, min: 12.3, max: 12.3, n: 1 });
  });
});

describe('mean, round and ratio', () => {
  it('averages the samples', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
  });

  it('rounds to the given decimals', () => {
    expect(round(1.2345, 2)).toBe(1.23);
    expect(round(1.25, 0)).toBe(1);
  });

  it('divides and rounds, and is null against a zero denominator', () => {
    expect(ratio(300, 200)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(5, 0)).toBeNull();
  });
});
