// Moves the base branch to a finished merge commit without ever touching a checkout that has work in it.
//
// Three cases: the branch is checked out and clean (fast-forward inside that checkout so its files
// match), checked out with uncommitted changes (leave it; the result goes to its own branch), or not
// checked out anywhere (compare-and-swap the ref). Whenever the base moved since the merge was made,
// the result also goes to its own branch rather than losing the newer commits.
import { lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { COMMIT_CONFIG, checkoutState, runGit, type CheckoutState } from '../workspace/git.js';

export interface AdvanceInput {
  repo: string;
  baseBranch: string;
  /** The base tip the merge commit was built on (its first parent). */
  baseTip: string;
  mergeCommit: string;
  resultBranch: string;
  /** The reflog message. */
  message: string;
  /** Paths the merge commit adds over `baseTip`, when the caller has diffed them already. */
  addedFiles?: readonly string[];
  /** The checkout of `baseBranch` (null: none), when the caller looked it up already. */
  checkout?: Promise<string | null>;
  /** That checkout's state, when the caller asked already (git itself refuses a fast-forward over changes made since). */
  checkoutState?: Promise<CheckoutState | null>;
  /** A branch to delete once the base holds its commits, if it still points at `commit`. */
  dropBranch?: { name: string; commit: string };
}

export type AdvanceResult =
  /** The base branch points at the merge commit (and its checkout, if any, shows it). */
  | { kind: 'advanced'; checkout: string | null; branchDropped: boolean }
  /** The merge commit is on `resultBranch` only; `reason` says why the base branch was left alone. */
  | { kind: 'to_branch'; reason: string };

export interface WorktreeEntry {
  path: string;
  branch: string | null;
  prunable: boolean;
}

/** Parses `git worktree list --porcelain -z`: NUL-terminated `key value` lines, records end with an empty one. */
export function parseWorktreeList(output: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | null = null;
  for (const line of output.split('\0')) {
    if (line === '') {
      if (current) entries.push(current);
      current = null;
      continue;
    }
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'worktree') current = { path: value, branch: null, prunable: false };
    else if (current && key === 'branch') current.branch = value;
    else if (current && key === 'prunable') current.prunable = true;
  }
  if (current) entries.push(current);
  return entries;
}

/** The existing worktree (the user's checkout, usually) that has `branch` checked out, if any. */
export async function findCheckout(repo: string, branch: string): Promise<string | null> {
  const res = await runGit(['worktree', 'list', '--porcelain', '-z'], { cwd: repo });
  const entry = parseWorktreeList(res.stdout).find((e) => e.branch === `refs/heads/${branch}` && !e.prunable);
  if (!entry) return null;
  try {
    return realpathSync(entry.path);
  } catch {
    return null;
  }
}

export async function advanceBase(input: AdvanceInput): Promise<AdvanceResult> {
  const { repo, baseBranch, baseTip, mergeCommit } = input;
  // The caller may have asked early, outside the repository lock, where `git worktree list` can fail while
  // another clone's worktree is being added; then ask again here, under the lock.
  const early = input.checkout ? await input.checkout.catch(() => undefined) : undefined;
  const checkout = early === undefined ? await findCheckout(repo, baseBranch) : early;
  if (checkout !== null) {
    const asked = early === checkout && input.checkoutState ? await input.checkoutState.catch(() => null) : null;
    const state = asked ?? (await checkoutState(checkout));
    if (state.dirty) {
      return toBranch(input, `the checkout of ${baseBranch} at ${checkout} has uncommitted changes, which kage never touches`);
    }
    const added = input.addedFiles ?? (await addedFiles(checkout, baseTip, mergeCommit));
    const shadowed = added.filter((p) => existsOnDisk(join(checkout, p)));
    if (shadowed.length > 0) {
      return toBranch(input, `the checkout of ${baseBranch} at ${checkout} has ignored files the merge would overwrite: ${shadowed.slice(0, 5).join(', ')}`);
    }
    if (state.head !== baseTip) {
      return toBranch(input, `${baseBranch} moved to ${state.head?.slice(0, 12) ?? 'an unborn branch'} while the merge was made`);
    }
    // A fast-forward, because the merge commit's first parent is the tip; git itself refuses to
    // overwrite anything that changed in the checkout since the status check above.
    // The merged branch goes meanwhile (another ref than the checkout's); it comes back if the fast-forward fails.
    const [ff, dropped] = await Promise.all([
      runGit([...COMMIT_CONFIG, 'merge', '--ff-only', '--no-autostash', '--quiet', mergeCommit], { cwd: checkout, allowFail: true }),
      input.dropBranch ? updateRefs(repo, input.message, [deleteRef(input.dropBranch)]) : false,
    ]);
    if (ff.code !== 0) {
      if (dropped && input.dropBranch) await updateRefs(repo, input.message, [createRef(input.dropBranch)]);
      return toBranch(input, `the checkout of ${baseBranch} at ${checkout} could not be fast-forwarded: ${ff.stderr.trim().slice(-500)}`);
    }
    return { kind: 'advanced', checkout, branchDropped: dropped };
  }
  // Compare-and-swap: fails instead of discarding commits if the branch moved meanwhile. With a branch to
  // drop, both in one transaction; should that fail, the swap alone says whether the base moved.
  const swap = `update refs/heads/${baseBranch}\0${mergeCommit}\0${baseTip}\0`;
  if (input.dropBranch && (await updateRefs(repo, input.message, [swap, deleteRef(input.dropBranch)]))) {
    return { kind: 'advanced', checkout: null, branchDropped: true };
  }
  if (!(await updateRefs(repo, input.message, [swap]))) {
    return toBranch(input, `${baseBranch} moved while the merge was made`);
  }
  return { kind: 'advanced', checkout: null, branchDropped: false };
}

/** `git update-ref --stdin -z` instructions, applied all or none; false when git refused them. */
async function updateRefs(repo: string, message: string, instructions: string[]): Promise<boolean> {
  const res = await runGit(['update-ref', '-m', message, '--stdin', '-z'], { cwd: repo, input: instructions.join(''), allowFail: true });
  return res.code === 0;
}

function deleteRef(branch: { name: string; commit: string }): string {
  return `delete refs/heads/${branch.name}\0${branch.commit}\0`;
}

/** Creates the branch again; refused if a branch of that name exists meanwhile. */
function createRef(branch: { name: string; commit: string }): string {
  return `create refs/heads/${branch.name}\0${branch.commit}\0`;
}

/**
 * Files the merge adds. Any that already exist in a clean checkout are ignored files (a local `.env`,
 * say), which git would silently overwrite on the fast-forward.
 */
async function addedFiles(checkout: string, baseTip: string, mergeCommit: string): Promise<string[]> {
  const res = await runGit(['diff', '--name-only', '-z', '--no-renames', '--diff-filter=A', baseTip, mergeCommit, '--'], {
    cwd: checkout,
  });
  return res.stdout.split('\0').filter((p) => p !== '');
}

function existsOnDisk(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function toBranch(input: AdvanceInput, reason: string): Promise<AdvanceResult> {
  // `git branch -f` rather than update-ref: it refuses to move the branch under a checkout of it.
  await runGit(['branch', '-f', '--', input.resultBranch, input.mergeCommit], { cwd: input.repo });
  return { kind: 'to_branch', reason };
}
