// The gateway's rate limits and upstream retries as kage runs them: the configured limits per provider,
// and each wait and retry an event on the clone (`gateway_rate_limited`, `gateway_retry`).
import type { RateLimitConfig } from '../config/config.js';
import { GATEWAY_PROVIDERS, type GatewayProvider } from '../domain/index.js';
import type { EventLog } from '../events/event-log.js';
import { createRateLimiter, type RateLimit, type RateLimiter, type UpstreamRetryOptions } from '../gateway/index.js';

export function createKageRateLimiter(config: RateLimitConfig, events: EventLog): RateLimiter {
  const limits = Object.fromEntries(GATEWAY_PROVIDERS.map((p): [GatewayProvider, RateLimit] => {
    const own = config.providers[p];
    const perWindow = (perMinute: number): number => Math.max(1, Math.floor((perMinute * config.windowMs) / 60_000));
    return [p, { requests: perWindow(own.requestsPerMinute), tokens: own.tokensPerMinute === null ? null : perWindow(own.tokensPerMinute),
      windowMs: config.windowMs, maxWaitMs: own.maxWaitMs }];
  }));
  return createRateLimiter({
    limits,
    onWait: (request, wait) => events.emit(request.grant.taskId, request.grant.cloneId, 'gateway_rate_limited',
      { provider: request.provider, model: request.model, ...wait }),
  });
}

export function upstreamRetry(config: RateLimitConfig, limiter: RateLimiter, events: EventLog): UpstreamRetryOptions {
  return {
    maxRetries: config.maxRetries,
    baseMs: config.backoffBaseMs,
    maxMs: config.backoffMaxMs,
    beforeRetry: limiter.acquire,
    onRetry: (request, retry) => events.emit(request.grant.taskId, request.grant.cloneId, 'gateway_retry',
      { provider: request.provider, model: request.model, ...retry }),
  };
}
