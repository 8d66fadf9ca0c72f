// Ranks a task's clones. Order of criteria: the agent succeeded, the check passed, it changed something,
// smaller diff, lower cost, faster. Pure: no I/O.
import type { CheckStatus, CloneStatus } from '../domain/index.js';

export interface RankInput {
  name: string;
  status: CloneStatus;
  /** null when no check command is configured. */
  checkStatus: CheckStatus | null;
  filesChanged: number;
  linesChanged: number;
  costUsd: number;
  durationMs: number;
}

export interface RankedClone {
  name: string;
  rank: number;
  /** 0..100, higher is better; a summary of the same criteria for display. */
  score: number;
  /** Can be merged: the agent succeeded and (when there is a check) the check passed. */
  eligible: boolean;
  reason: string;
}

function compare(a: RankInput, b: RankInput): number {
  const key = (c: RankInput): number[] => [
    c.status === 'succeeded' ? 0 : 1,
    c.checkStatus === 'passed' ? 0 : c.checkStatus === null ? 1 : 2,
    c.filesChanged > 0 ? 0 : 1,
    c.linesChanged,
    c.costUsd,
    c.durationMs,
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! !== kb[i]!) return ka[i]! - kb[i]!;
  }
  return a.name.localeCompare(b.name);
}

function score(c: RankInput, maxLines: number): number {
  let s = 0;
  if (c.status === 'succeeded') s += 30;
  if (c.checkStatus === 'passed') s += 40;
  else if (c.checkStatus === null && c.status === 'succeeded') s += 20;
  if (c.filesChanged > 0) {
    s += 20;
    s += maxLines > 0 ? 10 * (1 - c.linesChanged / maxLines) : 10;
  }
  return Math.round(s * 10) / 10;
}

function describe(c: RankInput): string {
  const parts: string[] = [];
  parts.push(c.status === 'succeeded' ? 'agent succeeded' : `agent ${c.status}`);
  if (c.checkStatus !== null) parts.push(`check ${c.checkStatus}`);
  parts.push(c.filesChanged > 0 ? `${c.filesChanged} file(s), ${c.linesChanged} line(s) changed` : 'no changes');
  parts.push(`$${c.costUsd.toFixed(4)}`, `${(c.durationMs / 1000).toFixed(1)}s`);
  return parts.join(', ');
}

export function rankClones(clones: readonly RankInput[]): RankedClone[] {
  const maxLines = Math.max(0, ...clones.map((c) => c.linesChanged));
  const sorted = [...clones].sort(compare);
  return sorted.map((c, i) => {
    const eligible = c.status === 'succeeded' && c.checkStatus !== 'failed' && c.checkStatus !== 'timeout' && c.checkStatus !== 'error';
    const verdict = i === 0 ? (eligible ? 'best' : 'best of no eligible clones') : `rank ${i + 1}`;
    return { name: c.name, rank: i + 1, score: score(c, maxLines), eligible, reason: `${verdict}: ${describe(c)}` };
  });
}
