// Conflict detection without a working tree: `git merge-tree --write-tree` merges in memory and only
// writes objects, so no checkout, index or ref changes and no lock is needed.
import { KageError } from '../domain/index.js';
import { runGit } from '../workspace/git.js';

export interface ConflictReport {
  clean: boolean;
  /** Paths with conflicts, each once. */
  conflicts: string[];
  /** The merged tree when clean; null when conflicted (that tree would hold conflict markers). */
  tree: string | null;
}

/**
 * Parses `git merge-tree --write-tree --name-only --no-messages -z` output:
 * `<tree oid>\0` then one `<path>\0` per conflicted path.
 */
export function parseMergeTree(output: string, exitCode: number): ConflictReport {
  const [tree = '', ...rest] = output.split('\0');
  const conflicts = [...new Set(rest.filter((p) => p !== ''))];
  const clean = exitCode === 0;
  return { clean, conflicts: clean ? [] : conflicts, tree: clean && tree !== '' ? tree : null };
}

/** Whether merging `theirs` into `ours` (commits or branches) conflicts, and on which paths. */
export async function findConflicts(repo: string, ours: string, theirs: string): Promise<ConflictReport> {
  const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs];
  // Exit 0: clean; 1: conflicted; anything else: git could not merge at all (bad ref, no merge base...).
  const res = await runGit(args, { cwd: repo, allowFail: true });
  if (res.code !== 0 && res.code !== 1) {
    throw new KageError('KAGE_GIT_FAILED', `git ${args.join(' ')} failed in ${repo}: ${res.stderr.trim().slice(-2000)}`, {
      details: { args, cwd: repo, code: res.code, stderr: res.stderr },
    });
  }
  return parseMergeTree(res.stdout, res.code);
}

/** Paths that differ between `base` and `head`; a rename lists both its old and new path. */
export async function filesChanged(repo: string, base: string, head: string): Promise<string[]> {
  const res = await runGit(['diff', '--name-only', '-z', '--no-renames', base, head, '--'], { cwd: repo });
  return res.stdout.split('\0').filter((p) => p !== '');
}
