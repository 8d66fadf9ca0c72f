// The LLM gateway between clones and their model providers.
export { createGateway, type Gateway, type GatewayOptions, type GatewayStore, type GatewayUpstream } from './gateway.js';
export { DEFAULT_PRICES, createPriceTable, type ModelPrice, type PriceTable } from './prices.js';
export type { GatewayRejection, GatewayRequestInfo, GatewayStep } from './steps.js';
export { TOKEN_PREFIX } from './tokens.js';
