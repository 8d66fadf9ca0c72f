// The LLM gateway between clones and their model providers.
export { createGateway, type Gateway, type GatewayOptions, type GatewayStore, type GatewayUpstream } from './gateway.js';
export { DEFAULT_PRICES, createPriceTable, type ModelPrice, type PriceTable } from './prices.js';
export type { GatewayRejection, GatewayRequestInfo, GatewayStep } from './steps.js';
export { TOKEN_PREFIX } from './tokens.js';
export { PATH_TOKEN_SEGMENT, splitPathToken, withPathToken } from './path-token.js';
export { createRateLimiter, systemClock, type Clock, type RateLimit, type RateLimiter, type RateLimiterOptions, type RateLimitWait } from './rate-limit.js';
export { RETRY_STATUSES, type GatewayRetry, type RetryPolicy, type UpstreamRetryOptions } from './retry.js';
export { DEFAULT_MAX_RECORDED_BYTES, type RecordingStore } from './recorder.js';
export { REDACTED, redactHeaders, redactedPath, redactedRequestUrl, redactPathToken } from './redact.js';
export { REPLAY_EXHAUSTED, type ReplayMismatch, type ReplayStore, type ReplayTiming } from './replay.js';
