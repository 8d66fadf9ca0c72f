// Pure summary statistics for benchmark samples: percentiles, mean, and the ratio of two summaries.

export interface Summary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

/**
 * The q-th quantile (0..1) by linear interpolation between closest ranks (numpy's default), so a p99 of
 * ten samples lies between the two largest instead of always being the maximum.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError('Expected at least one sample, got none');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`Expected a quantile between 0 and 1, got ${q}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('Expected at least one sample, got none');
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** Rounds to `digits` decimals, for readable JSON. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function summarize(samples: readonly number[], digits = 1): Summary {
  return {
    p50: round(quantile(samples, 0.5), digits),
    p90: round(quantile(samples, 0.9), digits),
    p99: round(quantile(samples, 0.99), digits),
    mean: round(mean(samples), digits),
    min: round(Math.min(...samples), digits),
    max: round(Math.max(...samples), digits),
    n: samples.length,
  };
}

/** `a / b`, rounded; null when the denominator is not positive (nothing to compare against). */
export function ratio(a: number, b: number, digits = 2): number | null {
  return b > 0 ? round(a / b, digits) : null;
}
