// Diff statistics between two commits, or a commit and the index, from `git diff --numstat -z`.
import type { DiffStats } from '../domain/index.js';
import { runGit } from './git.js';

/**
 * Parses `git diff --numstat -z`. Each entry is `added\tdeleted\tpath\0`, or for a rename
 * `added\tdeleted\t\0old\0new\0`; binary files show `-` for both counts and count as 0/0.
 */
export function parseNumstat(output: string): DiffStats {
  const tokens = output.split('\0');
  const files: string[] = [];
  let insertions = 0;
  let deletions = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || token === '') continue;
    const first = token.indexOf('\t');
    const second = token.indexOf('\t', first + 1);
    if (first < 0 || second < 0) continue;
    const added = Number.parseInt(token.slice(0, first), 10);
    const deleted = Number.parseInt(token.slice(first + 1, second), 10);
    let path = token.slice(second + 1);
    if (path === '') {
      // Rename or copy: the old and new paths follow as their own NUL-terminated fields.
      path = tokens[i + 2] ?? tokens[i + 1] ?? '';
      i += 2;
    }
    if (path === '') continue;
    files.push(path);
    if (Number.isFinite(added)) insertions += added;
    if (Number.isFinite(deleted)) deletions += deleted;
  }
  return { files, insertions, deletions };
}

/**
 * Files changed, lines added and removed between `baseCommit` and `headCommit`. Renames are not
 * detected, so a moved file shows as its old and its new path: both are paths the change touches.
 */
export async function diffStats(cwd: string, baseCommit: string, headCommit: string): Promise<DiffStats> {
  const res = await runGit(
    ['diff', '--numstat', '-z', '--no-renames', '--no-ext-diff', '--no-textconv', baseCommit, headCommit, '--'],
    { cwd },
  );
  return parseNumstat(res.stdout);
}

/** diffStats of the worktree's index (what is staged) against `baseCommit`. */
export async function stagedDiffStats(cwd: string, baseCommit: string): Promise<DiffStats> {
  const res = await runGit(
    ['diff', '--cached', '--numstat', '-z', '--no-renames', '--no-ext-diff', '--no-textconv', baseCommit, '--'],
    { cwd },
  );
  return parseNumstat(res.stdout);
}
