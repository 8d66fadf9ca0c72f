// Plain-text rendering of tasks and clones for the terminal.
import type { CloneRecord, TaskRecord } from '../domain/index.js';
import { taskUsage, totalTokens } from '../domain/index.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Marks tokens and cost the agent reported itself, where the gateway metered nothing. */
export const SELF_REPORTED_MARK = '*';

export function cost(usd: number): string {
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function cloneRows(clones: CloneRecord[]): string[][] {
  const ordered = [...clones].sort((a, b) => (a.rank ?? 999) - (b.rank ?? 999) || a.name.localeCompare(b.name));
  return ordered.map((c) => {
    const mark = c.usageSource === 'agent' ? SELF_REPORTED_MARK : '';
    return [
      c.name,
      c.model ? `${c.agent}:${c.model}` : c.agent,
      c.status,
      c.diff ? String(c.diff.files.length) : '-',
      c.diff ? `+${c.diff.insertions}/-${c.diff.deletions}` : '-',
      c.checkStatus ?? '-',
      c.score === null ? '-' : String(c.score),
      duration(c.durationMs),
      `${totalTokens(c.usage)}${mark}`,
      `${cost(c.costUsd)}${mark}`,
    ];
  });
}

export const CLONE_HEADERS = ['clone', 'agent', 'status', 'files', '+/-', 'check', 'score', 'duration', 'tokens', 'cost'];

/** The line under the clone table that explains the mark, when a row carries it. */
export function selfReportedNote(clones: readonly CloneRecord[]): string | null {
  return clones.some((c) => c.usageSource === 'agent')
    ? `${SELF_REPORTED_MARK} as reported by the agent; the gateway metered none of its requests`
    : null;
}

export function mergeLine(task: TaskRecord): string {
  switch (task.mergeStatus) {
    case 'merged':
      return `Merged ${task.bestClone} into ${task.baseRef}: commit ${task.mergeCommit?.slice(0, 12)} in ${task.repo}`;
    case 'merged_to_branch':
      return `Merge commit ${task.mergeCommit?.slice(0, 12)} is on branch ${task.mergeBranch} in ${task.repo}: ${task.mergeMessage}`;
    case 'conflicts':
      return `Not merged: ${task.bestClone} conflicts with ${task.baseRef} in ${task.conflicts.join(', ')}. Resolve by hand or run \`kage merge ${shortId(task.id)} --strategy theirs\`.`;
    case 'none':
      return task.status === 'cancelled' ? 'Cancelled; nothing merged.' : 'Not merged yet.';
    default:
      return task.mergeMessage ?? task.mergeStatus;
  }
}

export function summary(task: TaskRecord, clones: CloneRecord[]): string {
  const lines = [
    `Task ${task.id}  ${task.status}`,
    `  ${firstLine(task.description)}`,
    `  repo ${task.repo}  base ${task.baseRef} (${task.baseCommit.slice(0, 12)})  merge ${task.mergeStrategy}`,
    '',
    table(CLONE_HEADERS, cloneRows(clones)),
  ];
  const note = selfReportedNote(clones);
  if (note !== null) lines.push(note);
  lines.push('');
  for (const c of [...clones].sort((a, b) => (a.rank ?? 999) - (b.rank ?? 999))) {
    const why = c.reason ?? c.error ?? c.lastEvent;
    if (why) lines.push(`  ${c.name}: ${why}${c.error && c.reason ? ` (${c.error})` : ''}`);
  }
  lines.push('', `Best: ${task.bestClone ?? 'none'}`, mergeLine(task));
  if (task.error && task.mergeStatus !== 'failed') lines.push(`Error: ${task.error}`);
  return lines.join('\n');
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

/** A JSON-safe record of a task and its clones (the `--json` output). */
export function taskJson(task: TaskRecord, clones: CloneRecord[]): Record<string, unknown> {
  return { ...task, ...taskUsage(clones), clones };
}
