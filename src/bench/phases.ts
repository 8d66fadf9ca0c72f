// Where a task's time goes, from its stored events: each milestone's offset from `task_created`.
// Event timestamps are the inserting transaction's `now()`, so an offset is late by up to the event
// log's batch delay plus one insert; good enough to tell which phase dominates.
import type { EventRecord } from '../domain/index.js';
import { quantile, round } from './stats.js';

/** Milestones in the order a task passes them; `first_`/`last_` span the clones. */
export const MILESTONES = [
  'first_clone_started',
  'last_clone_started',
  'first_agent_spawned',
  'last_agent_spawned',
  'first_agent_result',
  'last_agent_result',
  'first_clone_finished',
  'last_clone_finished',
  'judging_started',
  'conflict_report',
  'merge_result',
  'task_finished',
] as const;

export type Milestone = (typeof MILESTONES)[number];

const PER_CLONE: Record<string, [Milestone, Milestone]> = {
  clone_started: ['first_clone_started', 'last_clone_started'],
  agent_spawned: ['first_agent_spawned', 'last_agent_spawned'],
  agent_result: ['first_agent_result', 'last_agent_result'],
  clone_finished: ['first_clone_finished', 'last_clone_finished'],
};

/** Offsets in ms from the task's `task_created` event; empty when that event is missing. */
export function milestoneOffsets(events: readonly EventRecord[]): Partial<Record<Milestone, number>> {
  const created = events.find((e) => e.type === 'task_created');
  if (!created) return {};
  const t0 = created.createdAt.getTime();
  const out: Partial<Record<Milestone, number>> = {};
  for (const e of events) {
    const offset = e.createdAt.getTime() - t0;
    const span = PER_CLONE[e.type];
    if (span) {
      const [first, last] = span;
      out[first] = Math.min(out[first] ?? Infinity, offset);
      out[last] = Math.max(out[last] ?? -Infinity, offset);
    } else if ((MILESTONES as readonly string[]).includes(e.type)) {
      out[e.type as Milestone] ??= offset;
    }
  }
  return out;
}

/** The median offset of each milestone over several tasks. */
export function medianOffsets(perTask: readonly Partial<Record<Milestone, number>>[]): Partial<Record<Milestone, number>> {
  const out: Partial<Record<Milestone, number>> = {};
  for (const m of MILESTONES) {
    const values = perTask.map((t) => t[m]).filter((v): v is number => v !== undefined);
    if (values.length > 0) out[m] = round(quantile(values, 0.5), 0);
  }
  return out;
}
