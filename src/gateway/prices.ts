// The price table: USD per million tokens by model-name prefix (the longest matching prefix wins), and the
// cost of one answer. Defaults are the providers' published list prices for standard (non-batch) use at
// short context, as of early 2026; `gateway.prices` in the config file adds or replaces entries. A model
// no prefix matches costs 0: the tokens are still counted.
import type { Usage } from '../domain/index.js';

export interface ModelPrice {
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
  /** Cached prompt tokens read; default the input price (an overestimate rather than a free lunch). */
  cacheReadUsdPerMillion?: number;
  /** Prompt tokens written to the cache (Anthropic's 5-minute cache); default the input price. */
  cacheWriteUsdPerMillion?: number;
}

const price = (input: number, output: number, cacheRead: number, cacheWrite = input): ModelPrice =>
  Object.freeze({ inputUsdPerMillion: input, outputUsdPerMillion: output, cacheReadUsdPerMillion: cacheRead, cacheWriteUsdPerMillion: cacheWrite });

export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  // Anthropic: cache reads 0.1x input, 5-minute cache writes 1.25x input.
  'claude-opus-4-6': price(5, 25, 0.5, 6.25),
  'claude-opus-4-5': price(5, 25, 0.5, 6.25),
  'claude-opus-4': price(15, 75, 1.5, 18.75),
  'claude-sonnet-4': price(3, 15, 0.3, 3.75),
  'claude-haiku-4': price(1, 5, 0.1, 1.25),
  'claude-3-7-sonnet': price(3, 15, 0.3, 3.75),
  'claude-3-5-sonnet': price(3, 15, 0.3, 3.75),
  'claude-3-5-haiku': price(0.8, 4, 0.08, 1),
  'claude-3-opus': price(15, 75, 1.5, 18.75),
  'claude-3-haiku': price(0.25, 1.25, 0.03, 0.3),
  // OpenAI: no separate cache-write charge.
  'gpt-5-nano': price(0.05, 0.4, 0.005),
  'gpt-5-mini': price(0.25, 2, 0.025),
  'gpt-5': price(1.25, 10, 0.125),
  'gpt-4.1-nano': price(0.1, 0.4, 0.025),
  'gpt-4.1-mini': price(0.4, 1.6, 0.1),
  'gpt-4.1': price(2, 8, 0.5),
  'gpt-4o-mini': price(0.15, 0.6, 0.075),
  'gpt-4o': price(2.5, 10, 1.25),
  'o4-mini': price(1.1, 4.4, 0.275),
  'o3-mini': price(1.1, 4.4, 0.55),
  'o3': price(2, 8, 0.5),
  'codex-mini': price(1.5, 6, 0.375),
  // Google (prompts up to 200k tokens).
  'gemini-3-pro': price(2, 12, 0.2),
  'gemini-2.5-pro': price(1.25, 10, 0.31),
  'gemini-2.5-flash-lite': price(0.1, 0.4, 0.025),
  'gemini-2.5-flash': price(0.3, 2.5, 0.075),
  'gemini-2.0-flash-lite': price(0.075, 0.3, 0.075),
  'gemini-2.0-flash': price(0.1, 0.4, 0.025),
});

export interface PriceTable {
  /** The entry for `model` and the prefix it matched; null when none does. */
  lookup(model: string | null): { prefix: string; price: ModelPrice } | null;
  costUsd(model: string | null, usage: Usage): number;
}

/** `models/gemini-2.5-flash` and `anthropic/claude-sonnet-4-5` are priced as the bare model names. */
export function bareModelName(model: string): string {
  const slash = model.lastIndexOf('/');
  return (slash === -1 ? model : model.slice(slash + 1)).trim().toLowerCase();
}

export function createPriceTable(overrides: Readonly<Record<string, ModelPrice>> = {}): PriceTable {
  const entries = Object.entries({ ...DEFAULT_PRICES, ...overrides })
    .map(([prefix, p]) => [prefix.toLowerCase(), p] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const lookup: PriceTable['lookup'] = (model) => {
    if (model === null) return null;
    const name = bareModelName(model);
    const hit = entries.find(([prefix]) => name.startsWith(prefix));
    return hit ? { prefix: hit[0], price: hit[1] } : null;
  };
  return {
    lookup,
    costUsd(model, usage) {
      const hit = lookup(model);
      if (hit === null) return 0;
      const p = hit.price;
      const usd = usage.inputTokens * p.inputUsdPerMillion + usage.outputTokens * p.outputUsdPerMillion
        + usage.cacheReadTokens * (p.cacheReadUsdPerMillion ?? p.inputUsdPerMillion)
        + usage.cacheWriteTokens * (p.cacheWriteUsdPerMillion ?? p.inputUsdPerMillion);
      return usd / 1_000_000;
    },
  };
}
