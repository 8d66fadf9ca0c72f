import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../domain/index.js';
import { overheadP50, spawnToFirstEventMs, summarizeSome } from './agent-figures.js';
import { summarize } from './stats.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

function events(...list: [type: string, offsetMs: number][]): EventRecord[] {
  return list.map(([type, offsetMs], i) => ({ id: String(i + 1), taskId: 't', cloneId: 'c', type, payload: {},
    createdAt: new Date(T0 + offsetMs) }));
}

describe('spawnToFirstEventMs', () => {
  it('measures from agent_spawned to the next agent event', () => {
    const log = events(['task_created', 0], ['clone_started', 5], ['agent_spawned', 40], ['agent_session', 340],
      ['agent_message', 900], ['clone_finished', 1000]);
    expect(spawnToFirstEventMs(log)).toBe(300);
  });

  it('skips events that are not the agent\'s between the spawn and its first event', () => {
    const log = events(['agent_spawned', 10], ['clone_status', 12], ['agent_tool_use', 250]);
    expect(spawnToFirstEventMs(log)).toBe(240);
  });

  it('ignores agent events stored before the spawn', () => {
    const log = events(['agent_message', 0], ['agent_spawned', 100], ['agent_result', 160]);
    expect(spawnToFirstEventMs(log)).toBe(60);
  });

  it('is null without a spawn or without an event after it', () => {
    expect(spawnToFirstEventMs(events(['task_created', 0], ['agent_message', 10]))).toBeNull();
    expect(spawnToFirstEventMs(events(['agent_spawned', 0], ['clone_finished', 10]))).toBeNull();
  });
});

describe('summarizeSome', () => {
  it('summarizes the samples that have a value', () => {
    expect(summarizeSome([10, null, 30])).toEqual(summarize([10, 30]));
  });

  it('is null when no sample has a value', () => {
    expect(summarizeSome([])).toBeNull();
    expect(summarizeSome([null, null])).toBeNull();
  });
});

describe('overheadP50', () => {
  it('gives kage\'s median task wall minus and over the median direct run', () => {
    expect(overheadP50(summarize([1300, 1500, 1400]), summarize([1000, 900, 1100])))
      .toEqual({ overhead_ms_p50: 400, overhead_ratio_p50: 1.4 });
  });

  it('rounds away the float error of the difference, and the ratio to two decimals', () => {
    // 1000.3 - 300.1 is 700.1999999999999 in floating point.
    expect(overheadP50(summarize([1000.3]), summarize([300.1]))).toEqual({ overhead_ms_p50: 700.2, overhead_ratio_p50: 3.33 });
  });

  it('is null on both counts when either side has no successful sample', () => {
    const none = { overhead_ms_p50: null, overhead_ratio_p50: null };
    expect(overheadP50(null, summarize([100]))).toEqual(none);
    expect(overheadP50(summarize([100]), null)).toEqual(none);
  });
});
