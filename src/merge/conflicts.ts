// Conflict detection without a working tree: `git merge-tree --write-tree` merges in memory and only
// writes objects, so no checkout, index or ref changes and no lock is needed.
import { KageError } from '../domain/index.js';
import { isFullOid, runGit } from '../workspace/git.js';

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

/**
 * Recent answers for pairs of commit ids, which cannot change: the task's conflict report asks about
 * the pair the merge asks about next. Kept briefly, as the clean tree is an unreferenced object that a
 * user's `git gc` may prune once it is old (two weeks by default).
 */
const recent = new Map<string, { report: ConflictReport; atMs: number }>();
const RECENT_MAX = 64;
const RECENT_TTL_MS = 10 * 60_000;

function copyReport(report: ConflictReport): ConflictReport {
  return { ...report, conflicts: [...report.conflicts] };
}

/** Whether merging `theirs` into `ours` (commits or branches) conflicts, and on which paths. */
export async function findConflicts(repo: string, ours: string, theirs: string): Promise<ConflictReport> {
  const key = isFullOid(ours) && isFullOid(theirs) ? `${repo}\0${ours}\0${theirs}` : null;
  const known = key === null ? undefined : recent.get(key);
  if (known && Date.now() - known.atMs < RECENT_TTL_MS) return copyReport(known.report);
  const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs];
  // Exit 0: clean; 1: conflicted, or (without the tree's id first) git could not merge at all, as with
  // any other code (bad ref, no merge base...).
  const res = await runGit(args, { cwd: repo, allowFail: true });
  if ((res.code !== 0 && res.code !== 1) || !isFullOid(res.stdout.split('\0', 1)[0] ?? '')) {
    throw new KageError('KAGE_GIT_FAILED', `git ${args.join(' ')} failed in ${repo}: ${res.stderr.trim().slice(-2000)}`, {
      details: { args, cwd: repo, code: res.code, stderr: res.stderr },
    });
  }
  const report = parseMergeTree(res.stdout, res.code);
  if (key !== null) remember(key, report);
  return report;
}

/**
 * Parses `git merge-tree --stdin --write-tree --name-only --no-messages -z` output: per merge
 * `<1 clean|0 conflicted>\0<tree oid>\0`, one `<path>\0` per conflicted path, then an empty `\0`.
 * Null when the output does not hold exactly `count` such records.
 */
export function parseMergeTreeBatch(output: string, count: number): ConflictReport[] | null {
  const tokens = output.split('\0');
  const reports: ConflictReport[] = [];
  let i = 0;
  while (reports.length < count) {
    const status = tokens[i];
    const tree = tokens[i + 1];
    if ((status !== '0' && status !== '1') || tree === undefined || !isFullOid(tree)) return null;
    const paths: string[] = [];
    for (i += 2; i < tokens.length && tokens[i] !== ''; i++) paths.push(tokens[i]!);
    if (i >= tokens.length) return null;
    i++;
    const clean = status === '1';
    reports.push({ clean, conflicts: clean ? [] : [...new Set(paths)], tree: clean ? tree : null });
  }
  return tokens.slice(i).every((t) => t === '') ? reports : null;
}

/**
 * findConflicts for many pairs of full commit ids with one git process (`merge-tree --stdin`), answers in
 * the order asked. Pairs answered recently come from memory; should the batch fail (a git without
 * `--stdin`, an unknown commit), each remaining pair is asked on its own, which names the problem.
 */
export async function findConflictsMany(repo: string, pairs: readonly (readonly [string, string])[]): Promise<ConflictReport[]> {
  const results: (ConflictReport | null)[] = pairs.map(([ours, theirs]) => {
    const known = isFullOid(ours) && isFullOid(theirs) ? recent.get(`${repo}\0${ours}\0${theirs}`) : undefined;
    return known && Date.now() - known.atMs < RECENT_TTL_MS ? copyReport(known.report) : null;
  });
  const missing = pairs.map((pair, i) => ({ pair, i })).filter(({ i, pair }) => results[i] === null && isFullOid(pair[0]) && isFullOid(pair[1]));
  if (missing.length > 1) {
    const res = await runGit(['merge-tree', '--stdin', '--write-tree', '--name-only', '--no-messages', '-z'], {
      cwd: repo,
      input: missing.map(({ pair }) => `${pair[0]} ${pair[1]}\n`).join(''),
      allowFail: true,
    });
    const reports = res.code === 0 ? parseMergeTreeBatch(res.stdout, missing.length) : null;
    reports?.forEach((report, k) => {
      const { pair, i } = missing[k]!;
      results[i] = report;
      remember(`${repo}\0${pair[0]}\0${pair[1]}`, report);
    });
  }
  return Promise.all(results.map((r, i) => r ?? findConflicts(repo, pairs[i]![0], pairs[i]![1])));
}

function remember(key: string, report: ConflictReport): void {
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value ?? '');
  recent.set(key, { report: copyReport(report), atMs: Date.now() });
}

export interface TreeChanges {
  /** Every path that differs, as filesChanged. */
  files: string[];
  /** The paths among them that `head` adds. */
  added: string[];
}

/** Parses `git diff --name-status -z --no-renames`: `<status>\0<path>\0` per changed path. */
export function parseNameStatus(output: string): TreeChanges {
  const tokens = output.split('\0');
  const changes: TreeChanges = { files: [], added: [] };
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const status = tokens[i] ?? '';
    const path = tokens[i + 1] ?? '';
    if (status === '' || path === '') continue;
    changes.files.push(path);
    if (status === 'A') changes.added.push(path);
  }
  return changes;
}

/** The paths that differ between `base` and `head` (commits or trees) and which of them `head` adds, in one diff. */
export async function treeChanges(repo: string, base: string, head: string): Promise<TreeChanges> {
  const res = await runGit(['diff', '--name-status', '-z', '--no-renames', base, head, '--'], { cwd: repo });
  return parseNameStatus(res.stdout);
}

/** Paths that differ between `base` and `head`; a rename lists both its old and new path. */
export async function filesChanged(repo: string, base: string, head: string): Promise<string[]> {
  const res = await runGit(['diff', '--name-only', '-z', '--no-renames', base, head, '--'], { cwd: repo });
  return res.stdout.split('\0').filter((p) => p !== '');
}
