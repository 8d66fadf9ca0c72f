// Prometheus metrics of the LLM gateway in this process: requests, tokens and cost per provider and model,
// and the latency and time to first byte of each request, fed with every request it meters.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { GatewayRequestRecord } from '../domain/index.js';

/** Distinct model labels kept; later models share `other`, so agents asking for made-up names cannot grow the series. */
export const MAX_MODEL_LABELS = 50;
export const OTHER_MODEL = 'other';
/** The label of a request that named no model (a listing, or a refusal before the body was read). */
export const UNKNOWN_MODEL = 'unknown';
/** Model names are the clients' text; a label longer than this is cut. */
const MAX_MODEL_CHARS = 100;

/** Seconds; model answers take from milliseconds (a local or mock server) to minutes. */
const LATENCY_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFB_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const TOKEN_KINDS = [
  ['input', 'inputTokens'],
  ['output', 'outputTokens'],
  ['cache_read', 'cacheReadTokens'],
  ['cache_write', 'cacheWriteTokens'],
] as const;

/** `2xx` ... `5xx`, or `none` when the client went away before any answer. */
export function statusClass(status: number | null): string {
  return status === null ? 'none' : `${Math.floor(status / 100)}xx`;
}

export interface GatewayMetrics {
  observe(record: GatewayRequestRecord): void;
}

export function createGatewayMetrics(registers: Registry[]): GatewayMetrics {
  const models = new Set<string>();
  const modelLabel = (model: string | null): string => {
    if (model === null || model === '') return UNKNOWN_MODEL;
    const name = model.slice(0, MAX_MODEL_CHARS);
    if (models.has(name)) return name;
    if (models.size >= MAX_MODEL_LABELS) return OTHER_MODEL;
    models.add(name);
    return name;
  };

  const requests = new Counter({
    name: 'kage_gateway_requests_total',
    help: 'Model requests the gateway metered, per provider, model and status class (none: the client left before an answer)',
    labelNames: ['provider', 'model', 'status_class'],
    registers,
  });
  const tokens = new Counter({
    name: 'kage_gateway_tokens_total',
    help: 'Tokens the gateway metered, per provider, model and kind (input without the cached part, output, cache_read, cache_write)',
    labelNames: ['provider', 'model', 'kind'],
    registers,
  });
  const cost = new Counter({
    name: 'kage_gateway_cost_usd_total',
    help: 'Cost in US dollars of the requests the gateway metered, from its price table',
    labelNames: ['provider', 'model'],
    registers,
  });
  const latency = new Histogram({
    name: 'kage_gateway_request_duration_seconds',
    help: 'Arrival of a model request at the gateway to the end of its answer to the client',
    labelNames: ['provider'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const ttfb = new Histogram({
    name: 'kage_gateway_ttfb_seconds',
    help: 'Arrival of a model request at the gateway to the first byte of the upstream\'s answer (requests that got one)',
    labelNames: ['provider'],
    buckets: TTFB_BUCKETS,
    registers,
  });

  return {
    observe(r) {
      const model = modelLabel(r.model);
      requests.inc({ provider: r.provider, model, status_class: statusClass(r.status) });
      for (const [kind, key] of TOKEN_KINDS) tokens.inc({ provider: r.provider, model, kind }, r[key]);
      cost.inc({ provider: r.provider, model }, r.costUsd);
      latency.observe({ provider: r.provider }, r.latencyMs / 1000);
      if (r.ttfbMs !== null) ttfb.observe({ provider: r.provider }, r.ttfbMs / 1000);
    },
  };
}
