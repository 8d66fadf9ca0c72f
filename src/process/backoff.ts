// How long a clone waits before retrying a transient failure: exponential, capped.

export const DEFAULT_MAX_RETRY_DELAY_MS = 10 * 60_000;

/** `baseDelayMs * 2^retryIndex`, capped at `maxMs`. `retryIndex` is 0 for the first retry. */
export function retryDelayMs(baseDelayMs: number, retryIndex: number, maxMs: number = DEFAULT_MAX_RETRY_DELAY_MS): number {
  const base = Math.max(0, baseDelayMs);
  const cap = Math.max(0, maxMs);
  const exponent = Math.max(0, Math.floor(retryIndex));
  // 2^exponent overflows to Infinity for large indexes, and Math.min caps it.
  return Math.min(base * 2 ** exponent, cap);
}
