import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { GatewayRequestRecord } from '../domain/index.js';
import { createGatewayMetrics, MAX_MODEL_LABELS, OTHER_MODEL, statusClass, UNKNOWN_MODEL } from './gateway-metrics.js';

function record(extra: Partial<GatewayRequestRecord> = {}): GatewayRequestRecord {
  return {
    taskId: 't', cloneId: 'c', provider: 'anthropic', model: 'claude-sonnet-4-5', method: 'POST', path: '/v1/messages', status: 200,
    stream: true, inputTokens: 100, outputTokens: 20, cacheReadTokens: 7, cacheWriteTokens: 8, costUsd: 0.002, latencyMs: 1500,
    ttfbMs: 300, startedAt: new Date(0), error: null, ...extra,
  };
}

async function values(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

describe('gateway metrics', () => {
  it('counts requests by status class, tokens by kind and cost, per provider and model', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics([registry]);
    metrics.observe(record());
    metrics.observe(record({ status: 429, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, ttfbMs: null }));
    metrics.observe(record({ provider: 'openai', model: 'gpt-5-mini', status: null, costUsd: 0.5 }));

    const requests = await values(registry, 'kage_gateway_requests_total');
    expect(requests).toEqual(expect.arrayContaining([
      { labels: { provider: 'anthropic', model: 'claude-sonnet-4-5', status_class: '2xx' }, value: 1 },
      { labels: { provider: 'anthropic', model: 'claude-sonnet-4-5', status_class: '4xx' }, value: 1 },
      { labels: { provider: 'openai', model: 'gpt-5-mini', status_class: 'none' }, value: 1 },
    ]));
    const tokens = await values(registry, 'kage_gateway_tokens_total');
    const anthropic = (kind: string) => tokens.find((t) => t.labels.provider === 'anthropic' && t.labels.kind === kind)?.value;
    expect([anthropic('input'), anthropic('output'), anthropic('cache_read'), anthropic('cache_write')]).toEqual([100, 20, 7, 8]);
    const cost = await values(registry, 'kage_gateway_cost_usd_total');
    expect(cost.find((c) => c.labels.provider === 'openai')?.value).toBe(0.5);

    const latency = await values(registry, 'kage_gateway_request_duration_seconds');
    // Both anthropic requests took 1.5 s: cumulative buckets count them from 2.5 s up.
    expect(latency.find((v) => v.labels.provider === 'anthropic' && String(v.labels.le) === '2.5')?.value).toBe(2);
    expect(latency.find((v) => v.labels.provider === 'anthropic' && String(v.labels.le) === '1')?.value).toBe(0);
    const ttfb = await values(registry, 'kage_gateway_ttfb_seconds');
    // The refused request got no upstream byte and is not timed.
    expect(ttfb.find((v) => v.labels.provider === 'anthropic' && String(v.labels.le) === '+Inf')?.value).toBe(1);
  });

  it(`keeps at most ${MAX_MODEL_LABELS} model labels and counts the rest as "${OTHER_MODEL}"`, async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics([registry]);
    for (let i = 0; i < MAX_MODEL_LABELS + 25; i++) metrics.observe(record({ model: `made-up-${i}` }));
    metrics.observe(record({ model: 'made-up-3' }));
    metrics.observe(record({ model: null }));
    const requests = await values(registry, 'kage_gateway_requests_total');
    const models = new Set(requests.map((r) => r.labels.model));
    expect(models.size).toBe(MAX_MODEL_LABELS + 2);
    expect(requests.find((r) => r.labels.model === OTHER_MODEL)?.value).toBe(25);
    expect(requests.find((r) => r.labels.model === 'made-up-3')?.value).toBe(2);
    // A request without a model is labelled as such and takes none of the model slots.
    expect(requests.find((r) => r.labels.model === UNKNOWN_MODEL)?.value).toBe(1);
  });

  it('names status classes by their first digit, and `none` for no answer', () => {
    expect([statusClass(200), statusClass(402), statusClass(503), statusClass(null)]).toEqual(['2xx', '4xx', '5xx', 'none']);
  });
});
