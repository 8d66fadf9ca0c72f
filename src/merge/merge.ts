// Merges a clone's branch into the task's base branch.
//
// A clean merge is built without any checkout: `merge-tree` computes the tree, `commit-tree` records
// it with the base tip and the clone as parents. Only `theirs` with conflicts needs a temporary detached
// worktree, where git resolves what it can and kage the rest. Either way no checkout the user works
// in is used for the merge itself; the base branch is then advanced only in ways that cannot lose
// anything (see advance.ts). Every step that writes worktree metadata or refs holds the repository
// lock shared with the clone worktrees; building a clean merge commit writes only objects and does not.
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { isKageError, KageError, showValue } from '../domain/index.js';
import { badRefError, checkoutState, COMMIT_CONFIG, isAncestor, resolveCommits, resolveObjects, runGit, type ObjectResolver } from '../workspace/git.js';
import { repoLockKey } from '../workspace/repo-lock.js';
import { withRepoLock } from '../workspace/worktrees.js';
import { advanceBase, findCheckout, type AdvanceInput } from './advance.js';
import { findConflicts, treeChanges, type ConflictReport, type TreeChanges } from './conflicts.js';

export interface MergeCloneInput {
  repo: string;
  /** The branch to merge into (`main`). */
  baseBranch: string;
  /** The commit the task started from; the base branch may have moved past it since. */
  baseCommit: string;
  /** The clone's branch (or any commit-ish). */
  cloneBranch: string;
  strategy: 'theirs' | 'auto';
  /** The merge commit's message. */
  message: string;
  /** Where the merge commit goes when the base branch cannot be advanced (`kage/<short>/merged`). */
  resultBranch: string;
  /** Directory for temporary merge worktrees; must be outside the repository. */
  tmpRoot: string;
  /** Root of the per-repository lock files: the worktree manager's root. Defaults to `tmpRoot`. */
  lockRoot?: string;
  /** How names become object ids; default one `git cat-file` per merge. */
  resolve?: ObjectResolver;
  /** Delete the clone's branch once the base branch holds its commits (status `merged`). */
  deleteMergedBranch?: boolean;
}

export type MergeOutcome =
  /** The base branch now points at the merge commit. */
  | 'merged'
  /** The merge commit exists on `resultBranch` only (dirty base checkout, or the base moved). */
  | 'merged_to_branch'
  /** `auto` found conflicts; no commit, branch or worktree changed. */
  | 'conflicts'
  /** Nothing to merge, or git refused; `message` says which. */
  | 'failed';

export interface MergeResult {
  status: MergeOutcome;
  commit: string | null;
  /** The branch that holds the merge commit. */
  branch: string | null;
  /** Paths the merge changed on the base branch. */
  mergedFiles: string[];
  /** Conflicting paths: refused under `auto`, resolved in the clone's favour under `theirs`. */
  conflicts: string[];
  message: string;
  /** The clone's branch was deleted (asked for with `deleteMergedBranch`, and merged). */
  branchDeleted?: boolean;
}

const short = (oid: string): string => oid.slice(0, 12);

/** The merge commit and what it changes on the base branch. */
interface BuiltMerge {
  commit: string;
  changes: TreeChanges;
}

export async function mergeClone(input: MergeCloneInput): Promise<MergeResult> {
  const { repo, baseBranch, cloneBranch } = input;
  const baseRef = `refs/heads/${baseBranch}`;
  // Which worktree has the base checked out, and its state, are asked meanwhile: git processes cost
  // milliseconds each. advance.ts asks again under the lock when either failed.
  const checkout = findCheckout(repo, baseBranch);
  const state = checkout.then((path) => (path === null ? null : checkoutState(path)));
  checkout.catch(() => undefined);
  state.catch(() => undefined);
  // One lookup for all three; a task base that no longer resolves only drops a note from the message.
  const [baseTip = null, cloneTip = null, taskBase = null] = await (input.resolve ?? resolveObjects)(repo, [
    { name: baseRef, kind: 'commit' },
    { name: cloneBranch, kind: 'commit' },
    { name: input.baseCommit, kind: 'commit' },
  ]);
  if (baseTip === null) throw badRefError(repo, baseRef);
  if (cloneTip === null) throw badRefError(repo, cloneBranch);
  await checkOutsideRepo(repo, input.tmpRoot);
  const nothing = (status: MergeOutcome, message: string, conflicts: string[] = []): MergeResult => ({
    status,
    commit: null,
    branch: null,
    mergedFiles: [],
    conflicts,
    message,
  });

  const report = await findConflicts(repo, baseTip, cloneTip);
  if (!report.clean && input.strategy === 'auto') {
    return nothing(
      'conflicts',
      `Not merged: ${cloneBranch} conflicts with ${baseBranch} in ${report.conflicts.length} path(s): ${report.conflicts.join(', ')}`,
      report.conflicts,
    );
  }

  const lockRoot = input.lockRoot ?? input.tmpRoot;
  try {
    if (report.tree !== null) {
      const built = await commitCleanMerge(input, baseTip, cloneTip, report.tree);
      if (built === null) {
        return nothing('failed', `Nothing to merge: ${baseBranch} already contains every commit of ${cloneBranch}`);
      }
      return await withRepoLock(repo, lockRoot, () => advance(input, built, { baseTip, cloneTip }, report, taskBase, checkout, state));
    }
    // Conflicts, so the clone is no ancestor of the base and `theirs` has something to merge.
    return await withRepoLock(repo, lockRoot, async () => {
      const commit = await mergeInTempWorktree(input, baseTip, cloneTip);
      const built = { commit, changes: await treeChanges(repo, baseTip, commit) };
      return advance(input, built, { baseTip, cloneTip }, report, taskBase, checkout, state);
    });
  } catch (err) {
    if (!isKageError(err, 'KAGE_GIT_FAILED')) throw err;
    return nothing('failed', `Merge of ${cloneBranch} into ${baseBranch} failed: ${err.message}`, report.conflicts);
  }
}

/**
 * Records a clean merge's tree as a commit on the base tip and the clone, without a worktree; null when
 * the base already contains the clone. Writes only objects, so it needs no lock.
 */
async function commitCleanMerge(input: MergeCloneInput, baseTip: string, cloneTip: string, tree: string): Promise<BuiltMerge | null> {
  const args = [...COMMIT_CONFIG, 'commit-tree', tree, '-p', baseTip, '-p', cloneTip];
  // Both at once; a commit made for nothing is an unreferenced object that git collects later.
  const [changes, res] = await Promise.all([
    treeChanges(input.repo, baseTip, tree),
    runGit(args, { cwd: input.repo, input: cleanMessage(input.message) }),
  ]);
  // A clone the base already contains merges to the base's own tree; only then is the ancestry
  // question worth a git process (the same tree can also come from changes both sides made).
  if (changes.files.length === 0 && (await isAncestor(input.repo, cloneTip, baseTip))) return null;
  return { commit: res.stdout.trim(), changes };
}

/** Moves the base branch to the merge commit (holding the repository lock) and describes the outcome. */
async function advance(input: MergeCloneInput, built: BuiltMerge, tips: { baseTip: string; cloneTip: string }, report: ConflictReport,
  taskBase: string | null, checkout: Promise<string | null>, state: AdvanceInput['checkoutState']): Promise<MergeResult> {
  const { baseBranch, cloneBranch } = input;
  const { baseTip } = tips;
  const mergeCommit = built.commit;
  const mergedFiles = built.changes.files;
  const result = await advanceBase({
    repo: input.repo,
    baseBranch,
    baseTip,
    mergeCommit,
    resultBranch: input.resultBranch,
    message: `kage: merge ${cloneBranch}`,
    addedFiles: built.changes.added,
    checkout,
    checkoutState: state,
    ...(input.deleteMergedBranch ? { dropBranch: { name: cloneBranch, commit: tips.cloneTip } } : {}),
  });
  const notes = describe(input, report.conflicts, taskBase, baseTip);
  if (result.kind === 'to_branch') {
    return {
      status: 'merged_to_branch',
      commit: mergeCommit,
      branch: input.resultBranch,
      mergedFiles,
      conflicts: report.conflicts,
      message:
        `Merged ${cloneBranch} as ${short(mergeCommit)} on ${input.resultBranch}, not on ${baseBranch}: ${result.reason}. ` +
        `Review with \`git diff ${baseBranch} ${input.resultBranch}\` and merge it with \`git merge ${input.resultBranch}\`.${notes}`,
    };
  }
  const where = result.checkout === null ? '' : ` and updated its checkout at ${result.checkout}`;
  return {
    status: 'merged',
    commit: mergeCommit,
    branch: baseBranch,
    mergedFiles,
    conflicts: report.conflicts,
    message: `Merged ${cloneBranch} into ${baseBranch} as ${short(mergeCommit)}${where}.${notes}`,
    branchDeleted: result.branchDropped,
  };
}

function describe(input: MergeCloneInput, conflicts: string[], taskBase: string | null, baseTip: string): string {
  let notes = '';
  if (conflicts.length > 0) {
    notes += ` ${conflicts.length} conflicting path(s) resolved in favour of ${input.cloneBranch}: ${conflicts.join(', ')}.`;
  }
  if (taskBase !== null && taskBase !== baseTip) {
    notes += ` ${input.baseBranch} had moved from ${short(taskBase)} to ${short(baseTip)} since the task started.`;
  }
  return notes;
}

/**
 * git's own clean-up of a merge message (`git stripspace`): trailing whitespace cut, runs of blank
 * lines made one, none at either end. `commit-tree` stores its message verbatim, `git merge` would not.
 */
export function cleanMessage(message: string): string {
  let out = '';
  let blanks = 0;
  for (const raw of message.split('\n')) {
    const line = raw.replace(/[ \t\r]+$/, '');
    if (line === '') {
      blanks++;
      continue;
    }
    if (blanks > 0 && out !== '') out += '\n';
    blanks = 0;
    out += `${line}\n`;
  }
  return out;
}

/** Checks already passed, per repository and directory: neither can move inside the other while kage runs. */
const checkedOutside = new Set<string>();
const CHECKED_OUTSIDE_MAX = 256;

/** A temporary worktree inside the repository would show up as untracked files in the user's checkout. */
async function checkOutsideRepo(repo: string, tmpRoot: string): Promise<void> {
  const common = await repoLockKey(repo);
  const cacheKey = `${common}\0${tmpRoot}`;
  if (checkedOutside.has(cacheKey)) return;
  const mainTree = basename(common) === '.git' ? dirname(common) : common;
  await mkdir(tmpRoot, { recursive: true });
  const rel = relative(mainTree, realpathSync(tmpRoot));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`tmpRoot\` outside the repository ${mainTree}, got ${showValue(tmpRoot)}`, {
      field: 'tmpRoot',
    });
  }
  if (checkedOutside.size >= CHECKED_OUTSIDE_MAX) checkedOutside.clear();
  checkedOutside.add(cacheKey);
}

/** Builds the merge commit (first parent: the base tip) in a throwaway detached worktree; returns its id. */
async function mergeInTempWorktree(input: MergeCloneInput, baseTip: string, cloneTip: string): Promise<string> {
  const { repo } = input;
  await mkdir(input.tmpRoot, { recursive: true });
  const tmp = await mkdtemp(join(input.tmpRoot, 'merge-'));
  try {
    await runGit(['worktree', 'add', '--detach', tmp, baseTip], { cwd: repo });
    const strategyArgs = input.strategy === 'theirs' ? ['-X', 'theirs'] : [];
    const merge = await runGit(
      [...COMMIT_CONFIG, 'merge', '--no-ff', '--no-edit', '--no-verify', ...strategyArgs, '-m', input.message, cloneTip],
      { cwd: tmp, allowFail: true },
    );
    if (merge.code !== 0) {
      const unmerged = await unmergedPaths(tmp);
      if (input.strategy !== 'theirs' || unmerged.size === 0) {
        throw new KageError('KAGE_GIT_FAILED', `git merge failed in ${tmp}: ${(merge.stderr || merge.stdout).trim().slice(-2000)}`);
      }
      await resolveInTheirsFavour(tmp, unmerged);
      // `commit -m` while MERGE_HEAD exists records both parents; the message is ours, not MERGE_MSG's
      // (which carries a commented conflict list that --no-edit would keep).
      await runGit([...COMMIT_CONFIG, 'commit', '--no-verify', '--quiet', '-m', input.message], { cwd: tmp });
    }
    const [head = '', parent = ''] = await resolveCommits(tmp, ['HEAD', 'HEAD^1']);
    if (parent !== baseTip) {
      throw new KageError('KAGE_GIT_FAILED', `git merge in ${tmp} made ${head} on ${parent}, expected it on ${baseTip}`);
    }
    return head;
  } finally {
    // A successful remove deletes the directory and git's metadata; prune only after a failed one.
    const removed = await runGit(['worktree', 'remove', '--force', '--force', tmp], { cwd: repo, allowFail: true });
    if (removed.code !== 0) {
      await rm(tmp, { recursive: true, force: true });
      await runGit(['worktree', 'prune'], { cwd: repo, allowFail: true });
    }
  }
}

/** Unmerged index entries: path -> the stages present (1 base, 2 ours, 3 theirs). */
async function unmergedPaths(worktree: string): Promise<Map<string, Set<number>>> {
  const res = await runGit(['ls-files', '--unmerged', '-z'], { cwd: worktree });
  const paths = new Map<string, Set<number>>();
  for (const entry of res.stdout.split('\0')) {
    // `<mode> <oid> <stage>\t<path>`
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const stage = Number(entry.slice(0, tab).split(' ')[2]);
    const path = entry.slice(tab + 1);
    const stages = paths.get(path) ?? new Set<number>();
    stages.add(stage);
    paths.set(path, stages);
  }
  return paths;
}

/**
 * Resolves what `-X theirs` leaves unmerged (modify/delete, binary add/add, ...): the clone's version
 * where it has one, deletion where it deleted the path.
 */
async function resolveInTheirsFavour(worktree: string, unmerged: Map<string, Set<number>>): Promise<void> {
  const keep = [...unmerged].filter(([, stages]) => stages.has(3)).map(([path]) => path);
  const drop = [...unmerged].filter(([, stages]) => !stages.has(3)).map(([path]) => path);
  // Paths go on stdin (no argv length limit) and literally: a name with `*` is not a glob.
  const opts = { cwd: worktree, env: { GIT_LITERAL_PATHSPECS: '1' } };
  const pathspec = ['--pathspec-from-file=-', '--pathspec-file-nul'];
  if (keep.length > 0) {
    await runGit(['checkout', '--theirs', ...pathspec], { ...opts, input: keep.join('\0') });
    await runGit(['add', ...pathspec], { ...opts, input: keep.join('\0') });
  }
  if (drop.length > 0) {
    await runGit(['rm', '--quiet', '--force', '--ignore-unmatch', ...pathspec], { ...opts, input: drop.join('\0') });
  }
  const left = await unmergedPaths(worktree);
  if (left.size > 0) {
    throw new KageError('KAGE_GIT_FAILED', `Could not resolve ${[...left.keys()].join(', ')} in favour of the clone in ${worktree}`);
  }
}
