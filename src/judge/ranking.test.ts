import { describe, expect, it } from 'vitest';
import { rankClones, type RankInput } from './ranking.js';

const base: RankInput = { name: 'a', status: 'succeeded', checkStatus: 'passed', filesChanged: 1, linesChanged: 2, costUsd: 0.01, durationMs: 1000 };

describe('rankClones', () => {
  it('puts a passing check before a failing one even when the failing one is cheaper and faster', () => {
    const ranked = rankClones([
      { ...base, name: 'cheap', checkStatus: 'failed', costUsd: 0, durationMs: 10 },
      { ...base, name: 'good' },
    ]);
    expect(ranked.map((r) => r.name)).toEqual(['good', 'cheap']);
    expect(ranked[0]!.eligible).toBe(true);
    expect(ranked[1]!.eligible).toBe(false);
  });

  it('prefers a clone that changed something over one that changed nothing', () => {
    const ranked = rankClones([{ ...base, name: 'idle', filesChanged: 0, linesChanged: 0 }, { ...base, name: 'busy' }]);
    expect(ranked[0]!.name).toBe('busy');
  });

  it('breaks ties by smaller diff, then lower cost, then faster', () => {
    expect(rankClones([{ ...base, name: 'big', linesChanged: 50 }, { ...base, name: 'small', linesChanged: 3 }])[0]!.name).toBe('small');
    expect(rankClones([{ ...base, name: 'dear', costUsd: 1 }, { ...base, name: 'cheap', costUsd: 0.5 }])[0]!.name).toBe('cheap');
    expect(rankClones([{ ...base, name: 'slow', durationMs: 9000 }, { ...base, name: 'fast', durationMs: 100 }])[0]!.name).toBe('fast');
  });

  it('never makes a free local model win over a passing paid one (the v1 cheapest-success defect)', () => {
    const ranked = rankClones([
      { ...base, name: 'ollama', checkStatus: 'failed', costUsd: 0 },
      { ...base, name: 'claude', costUsd: 0.5 },
    ]);
    expect(ranked[0]!.name).toBe('claude');
  });

  it('ranks failed agents last and never marks them eligible', () => {
    const ranked = rankClones([{ ...base, name: 'crashed', status: 'failed' }, { ...base, name: 'ok', checkStatus: 'failed' }]);
    expect(ranked.map((r) => r.name)).toEqual(['ok', 'crashed']);
    expect(ranked.every((r) => !r.eligible)).toBe(true);
    expect(ranked[0]!.reason).toMatch(/^best of no eligible clones/);
  });

  it('treats a succeeded clone as eligible when there is no check command', () => {
    const [only] = rankClones([{ ...base, checkStatus: null }]);
    expect(only!.eligible).toBe(true);
    expect(only!.reason).toMatch(/^best: agent succeeded, 1 file/);
  });

  it('gives ranks 1..n and scores that never increase down the ranking for these inputs', () => {
    const ranked = rankClones([
      { ...base, name: 'c', status: 'timeout', checkStatus: 'skipped' },
      { ...base, name: 'b', checkStatus: 'failed' },
      { ...base, name: 'a' },
    ]);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3]);
    expect(ranked[0]!.score).toBeGreaterThan(ranked[1]!.score);
    expect(ranked[1]!.score).toBeGreaterThan(ranked[2]!.score);
  });
});
