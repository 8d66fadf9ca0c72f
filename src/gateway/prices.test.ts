import { describe, expect, it } from 'vitest';
import { createPriceTable, DEFAULT_PRICES } from './prices.js';

const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) =>
  ({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens });

describe('the price table', () => {
  it('prices dated snapshots and prefixed names by the longest matching prefix', () => {
    const table = createPriceTable();
    expect(table.lookup('claude-opus-4-5-20251101')?.prefix).toBe('claude-opus-4-5');
    expect(table.lookup('claude-opus-4-1-20250805')?.prefix).toBe('claude-opus-4');
    expect(table.lookup('gpt-5-mini-2025-08-07')?.prefix).toBe('gpt-5-mini');
    expect(table.lookup('gpt-5-codex')?.prefix).toBe('gpt-5');
    expect(table.lookup('models/gemini-2.5-flash-lite')?.prefix).toBe('gemini-2.5-flash-lite');
    expect(table.lookup('anthropic/Claude-Sonnet-4-5')?.prefix).toBe('claude-sonnet-4');
  });

  it('charges input, output, cache reads and cache writes at their own rates', () => {
    // claude-sonnet-4: 3 in, 15 out, 0.30 cache read, 3.75 cache write per million.
    expect(createPriceTable().costUsd('claude-sonnet-4-5-20250929', usage(1_000_000, 100_000, 2_000_000, 400_000)))
      .toBeCloseTo(3 + 1.5 + 0.6 + 1.5, 10);
  });

  it('costs nothing for a model no prefix matches, or none at all', () => {
    const table = createPriceTable();
    expect(table.costUsd('mock-model', usage(1000, 1000))).toBe(0);
    expect(table.costUsd(null, usage(1000, 1000))).toBe(0);
  });

  it('lets configured entries replace defaults and add models, cache prices defaulting to the input price', () => {
    const table = createPriceTable({ 'gpt-5': { inputUsdPerMillion: 2, outputUsdPerMillion: 20 }, 'qwen2.5-coder': { inputUsdPerMillion: 0.5, outputUsdPerMillion: 1 } });
    expect(table.costUsd('gpt-5', usage(1_000_000, 1_000_000, 1_000_000))).toBeCloseTo(2 + 20 + 2, 10);
    expect(table.costUsd('qwen2.5-coder:7b', usage(2_000_000, 0))).toBeCloseTo(1, 10);
    expect(table.lookup('gpt-5-mini')?.price).toBe(DEFAULT_PRICES['gpt-5-mini']);
  });
});
