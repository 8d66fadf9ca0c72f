// Pure figures of the agents part: spawn → first event from a clone's stored events, the summaries of the
// samples that succeeded, and what a kage task adds over running the same agent directly.
import type { EventRecord } from '../domain/index.js';
import { ratio, round, summarize, type Summary } from './stats.js';

/**
 * ms from the first `agent_spawned` event to the next normalized agent event (`agent_session`,
 * `agent_message`, ...); null when either is missing. Stored events carry their batch's insert time, so
 * each end is late by up to the event log's batch delay: the difference is right to within about that.
 */
export function spawnToFirstEventMs(events: readonly EventRecord[]): number | null {
  const spawnedAt = events.findIndex((e) => e.type === 'agent_spawned');
  if (spawnedAt < 0) return null;
  const first = events.slice(spawnedAt + 1).find((e) => e.type.startsWith('agent_') && e.type !== 'agent_spawned');
  if (first === undefined) return null;
  return first.createdAt.getTime() - events[spawnedAt]!.createdAt.getTime();
}

/** The summary of the samples that have a value; null when none has (every run failed). */
export function summarizeSome(samples: readonly (number | null)[]): Summary | null {
  const values = samples.filter((v): v is number => v !== null);
  return values.length === 0 ? null : summarize(values);
}

export interface Overhead {
  /** kage task wall p50 − direct wall p50. */
  overhead_ms_p50: number | null;
  /** kage task wall p50 / direct wall p50. */
  overhead_ratio_p50: number | null;
}

/** What kage adds to the median run; null when either side has no successful sample. */
export function overheadP50(kageTaskWall: Summary | null, directWall: Summary | null): Overhead {
  if (kageTaskWall === null || directWall === null) return { overhead_ms_p50: null, overhead_ratio_p50: null };
  return {
    overhead_ms_p50: round(kageTaskWall.p50 - directWall.p50),
    overhead_ratio_p50: ratio(kageTaskWall.p50, directWall.p50),
  };
}
