// Finds the clone an API request means by v1's `cli_name`: a clone name, or an agent id (v1 had one clone
// per agent), and by default the judge's best clone.
import type { CloneRecord, TaskRecord } from '../domain/index.js';
import { KageError, showValue } from '../domain/index.js';
import { V1_AGENT_ALIASES } from './v1.js';

/** The clone named `cliName` (by name, else by agent), else the best clone; null when nothing names one. */
export function findClone(task: TaskRecord, clones: CloneRecord[], cliName: string | undefined,
  where: { field: string; in: 'query' | 'path' } = { field: 'cli_name', in: 'query' }): CloneRecord | null {
  if (cliName === undefined) return clones.find((c) => c.name === task.bestClone) ?? null;
  const byName = clones.find((c) => c.name === cliName);
  if (byName) return byName;
  const agent = V1_AGENT_ALIASES[cliName] ?? cliName;
  const ofAgent = clones.filter((c) => c.agent === agent);
  const chosen = ofAgent.find((c) => c.name === task.bestClone) ?? ofAgent.find((c) => c.status === 'succeeded') ?? ofAgent[0];
  if (chosen) return chosen;
  throw new KageError('KAGE_CLONE_NOT_FOUND',
    `Task ${task.id} has no clone or agent ${showValue(cliName)}; clones: ${clones.map((c) => `${c.name} (${c.agent})`).join(', ')}`,
    { field: where.field, details: { loc: [where.in, where.field] } });
}

/** Like findClone, but a missing default is a 409: the task has no best clone to act on. */
export function requireClone(task: TaskRecord, clones: CloneRecord[], cliName: string | undefined): CloneRecord {
  const clone = findClone(task, clones, cliName);
  if (clone) return clone;
  throw new KageError('KAGE_NOTHING_TO_MERGE', `Task ${task.id} has no best clone; name one with \`cli_name\``, { field: 'cli_name' });
}
