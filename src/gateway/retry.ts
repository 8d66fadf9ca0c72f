// When and after how long the gateway retries an upstream answer: 429, 503 and 529 (Anthropic's
// "overloaded"), before any byte of it reached the client, after the upstream's `Retry-After` when it sends
// one, else after an exponential backoff with jitter, capped.
import type { GatewayRequestInfo, GatewayStep } from './steps.js';

export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  maxRetries: number;
  /** The first backoff; the n-th (from 0) is `baseMs * 2^n`, with jitter, at most `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Default Math.random; tests pin it. */
  random?: () => number;
}

/** A retry the gateway is about to make. */
export interface GatewayRetry {
  /** The upstream status being retried. */
  status: number;
  delayMs: number;
  /** 1 for the first retry. */
  attempt: number;
}

export interface UpstreamRetryOptions extends RetryPolicy {
  /** Before each retry is sent, after the delay: the rate-limit wait, which counts the retry too. */
  beforeRetry?: GatewayStep;
  onRetry?(request: GatewayRequestInfo, retry: GatewayRetry): void;
}

export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503, 529]);

/** `Retry-After` in milliseconds from `nowMs`: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined || raw === '') return null;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * The delay before retry number `retry` (0 for the first), or null when the answer is not to be retried:
 * not a retry status, no retries left, or a `Retry-After` longer than `maxMs` (the client is better told).
 * Without `Retry-After`: half the backoff plus a random part of the other half, so clones that hit the
 * limit together do not come back together.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, status: number, retryAfter: string | string[] | undefined, nowMs: number): number | null {
  if (!RETRY_STATUSES.has(status) || retry >= policy.maxRetries) return null;
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked !== null) return asked <= policy.maxMs ? asked : null;
  const backoff = Math.min(policy.maxMs, policy.baseMs * 2 ** retry);
  return Math.round(backoff / 2 + (policy.random ?? Math.random)() * (backoff / 2));
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    const stop = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
