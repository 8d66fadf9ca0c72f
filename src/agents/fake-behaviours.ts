// The fake agent's behaviours, defaults and deterministic usage, shared by its adapter and the script.
import type { Usage } from '../domain/index.js';

export const FAKE_BEHAVIOURS = [
  'ok',
  'write',
  'fix',
  'wrong',
  'noop',
  'crash',
  'hang',
  'flood',
  'slow',
  'conflict',
  'error',
  'budget',
] as const;

export type FakeBehaviour = (typeof FAKE_BEHAVIOURS)[number];

export function isFakeBehaviour(value: unknown): value is FakeBehaviour {
  return typeof value === 'string' && (FAKE_BEHAVIOURS as readonly string[]).includes(value);
}

export const FAKE_DEFAULTS = Object.freeze({
  behaviour: 'ok' as FakeBehaviour,
  file: 'kage-fake.txt',
  content: 'hello from fake\n',
  delayMs: 2_000,
  floodBytes: 50 * 1024 * 1024,
  errorStatus: 400,
  model: 'fake-model-1',
  usage: Object.freeze<Usage>({ inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 }),
});

/**
 * Reads a `--tokens` value: `N` (a total, split 80/20 between input and output so the total is exactly N)
 * or `input,output[,cacheRead[,cacheWrite]]`. Returns null when the value is not one of those.
 */
export function parseFakeTokens(spec: string): Usage | null {
  const parts = spec.split(',').map((part) => part.trim());
  if (parts.length > 4 || !parts.every((part) => /^\d+$/.test(part))) return null;
  const numbers = parts.map(Number);
  if (!numbers.every(Number.isSafeInteger)) return null;
  if (numbers.length === 1) {
    const total = numbers[0] ?? 0;
    const inputTokens = Math.round(total * 0.8);
    return { inputTokens, outputTokens: total - inputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
  }
  const [inputTokens = 0, outputTokens = 0, cacheReadTokens = 0, cacheWriteTokens = 0] = numbers;
  return { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens };
}

/** A fixed list price (USD per million tokens), so costs in tests are exact and stable. */
const PRICE_PER_MTOK = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

export function fakeCostUsd(usage: Usage): number {
  const micro =
    usage.inputTokens * PRICE_PER_MTOK.input +
    usage.outputTokens * PRICE_PER_MTOK.output +
    usage.cacheReadTokens * PRICE_PER_MTOK.cacheRead +
    usage.cacheWriteTokens * PRICE_PER_MTOK.cacheWrite;
  return Math.round(micro) / 1_000_000;
}
