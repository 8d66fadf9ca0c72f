// Clone worktrees: one per clone, on its own branch, under KAGE_HOME/worktrees, never inside the user's repo.
//
// Layout: <root>/<repo-name>-<hash8 of the repo path>/<task short id>/<clone name>, branch
// kage/<task short id>/<clone name>. The path is a pure function of (repo, task, clone), so a retried
// attempt finds the directory of the previous one and keeps its commits.
import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { KageError, showValue, type DiffStats } from '../domain/index.js';
import { diffStats, stagedDiffStats } from './diff.js';
import { COMMIT_CONFIG, branchExists, currentBranch, isAncestor, isFullOid, resolveCommit, runGit, type ObjectResolver } from './git.js';
import { repoLockKey, shortHash, withRepoKeyLock } from './repo-lock.js';

export { withRepoLock } from './repo-lock.js';

export interface WorktreeManagerOptions {
  /** KAGE_HOME/worktrees. */
  root: string;
  /** Answers `commitAndDiff`'s question for the new head of a named branch without a git process of its own. */
  resolve?: ObjectResolver;
}

/** The repository and branch of a worktree, for answers about its head by name. */
export interface WorktreeRef {
  repo: string;
  branch: string;
}

export interface AddWorktreeInput {
  repo: string;
  taskId: string;
  cloneName: string;
  baseCommit: string;
}

export interface Worktree {
  path: string;
  branch: string;
}

export interface WorktreeManager {
  readonly root: string;
  add(input: AddWorktreeInput): Promise<Worktree>;
  remove(repo: string, path: string): Promise<void>;
  /** Commits everything uncommitted except `exclude` (paths the setup command created); returns HEAD. */
  commitLeftovers(worktreePath: string, message: string, exclude?: readonly string[]): Promise<string>;
  /** commitLeftovers, then the new head and its diff stats against `baseCommit` (read in parallel). */
  commitAndDiff(worktreePath: string, message: string, baseCommit: string, exclude?: readonly string[],
    ref?: WorktreeRef): Promise<{ head: string; diff: DiffStats }>;
  /** Untracked paths (directories collapsed), e.g. to remember what a setup command created. */
  untrackedPaths(worktreePath: string): Promise<string[]>;
  diffStats(cwd: string, baseCommit: string, headCommit: string): Promise<DiffStats>;
  /**
   * Removes worktree directories no live clone owns. `activeTasks` (task short ids) protects every
   * worktree of an unfinished task, including one created a moment ago and not yet recorded.
   */
  sweepOrphans(knownPaths: Set<string>, activeTasks?: Set<string>): Promise<string[]>;
  listWorktreesOnDisk(): string[];
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Depth of a worktree directory below root: repo dir / task short id / clone name. */
const WORKTREE_DEPTH = 3;

export function taskShortId(taskId: string): string {
  return taskId.slice(0, 8);
}

export function cloneBranchName(taskId: string, cloneName: string): string {
  return `kage/${taskShortId(taskId)}/${cloneName}`;
}

function checkName(field: string, value: string): void {
  if (!SAFE_NAME.test(value) || value.includes('..') || value.endsWith('.lock')) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be letters, digits, '.', '_' or '-', got ${showValue(value)}`, {
      field,
    });
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The working tree a shared git directory belongs to (`/x/repo/.git` -> `/x/repo`; a bare repo is itself). */
function mainTreeOf(commonDir: string): string {
  return basename(commonDir) === '.git' ? dirname(commonDir) : commonDir;
}

/** The shared git directory a linked worktree belongs to, read from its `.git` file; null when it is not one. */
export function readWorktreeCommonDir(worktreePath: string): string | null {
  try {
    const dotGit = join(worktreePath, '.git');
    if (!statSync(dotGit).isFile()) return null;
    const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
    if (!match?.[1]) return null;
    const gitdir = resolve(worktreePath, match[1]);
    const commondirFile = join(gitdir, 'commondir');
    if (existsSync(commondirFile)) return resolve(gitdir, readFileSync(commondirFile, 'utf8').trim());
    // The worktree's metadata is gone already; it lived in <common>/worktrees/<name>.
    return basename(dirname(gitdir)) === 'worktrees' ? dirname(dirname(gitdir)) : null;
  } catch {
    return null;
  }
}

/** The branch a linked worktree has checked out, read from its HEAD file; null when detached or unreadable. */
export function headBranchOf(worktreePath: string): string | null {
  try {
    const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(join(worktreePath, '.git'), 'utf8'));
    if (!match?.[1]) return null;
    const head = readFileSync(join(resolve(worktreePath, match[1]), 'HEAD'), 'utf8');
    return /^ref: refs\/heads\/(.+?)\s*$/.exec(head)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Whether `path` is the top of a worktree of the repository whose shared git dir is `key`. */
async function isWorktreeOf(path: string, key: string): Promise<boolean> {
  const res = await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir', '--show-toplevel'], {
    cwd: path,
    allowFail: true,
  });
  if (res.code !== 0) return false;
  const [common, top] = res.stdout.split('\n');
  return common !== undefined && top !== undefined && realpathOr(common) === key && realpathOr(top) === realpathOr(path);
}

export function createWorktreeManager(options: WorktreeManagerOptions): WorktreeManager {
  const root = resolve(options.root);

  /** Removes now-empty task and repo directories above a removed worktree, never root itself. */
  function removeEmptyParents(path: string): void {
    for (let dir = dirname(path); dir !== root && isInside(dir, root); dir = dirname(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        return;
      }
    }
  }

  async function add(input: AddWorktreeInput): Promise<Worktree> {
    checkName('cloneName', input.cloneName);
    const shortId = taskShortId(input.taskId);
    checkName('taskId', shortId);
    const key = await repoLockKey(input.repo);
    const mainTree = mainTreeOf(key);
    await mkdir(root, { recursive: true });
    if (isInside(realpathOr(root), mainTree) || isInside(realpathOr(root), key)) {
      throw new KageError('KAGE_INVALID_CONFIG', `Expected the worktree root outside the repository ${mainTree}, got ${showValue(root)}`, {
        field: 'worktreeRoot',
      });
    }
    const path = join(root, `${basename(mainTree)}-${shortHash(mainTree, 8)}`, shortId, input.cloneName);
    const branch = cloneBranchName(input.taskId, input.cloneName);
    // A full commit id (what the task records) goes to git as it is: were it unknown, the add below
    // fails and the slow path reports it. Anything else could be a branch or start with '-'.
    const quickBase = isFullOid(input.baseCommit) ? input.baseCommit : await resolveCommit(input.repo, input.baseCommit);

    return withRepoKeyLock(key, root, async () => {
      // The usual case, a first attempt: one `git worktree add`, which refuses (-b) a branch that exists.
      if (!existsSync(path)) {
        await mkdir(dirname(path), { recursive: true });
        const res = await runGit(['worktree', 'add', '-b', branch, path, quickBase], { cwd: input.repo, allowFail: true });
        if (res.code === 0) return { path, branch };
      }
      // A retried attempt, a branch left by one, or metadata of a worktree whose directory vanished
      // (which keeps its branch from being checked out again until pruned).
      await runGit(['worktree', 'prune'], { cwd: input.repo });
      const base = await resolveCommit(input.repo, input.baseCommit);
      if (existsSync(path)) {
        if (await isWorktreeOf(path, key)) {
          if ((await currentBranch(path)) !== branch) {
            const args = (await branchExists(input.repo, branch)) ? ['checkout', branch] : ['checkout', '-B', branch, base];
            await runGit(args, { cwd: path });
          }
          return { path, branch };
        }
        await rm(path, { recursive: true, force: true });
      }
      await mkdir(dirname(path), { recursive: true });
      // A previous attempt's branch keeps its commits; a branch from unrelated history is reset.
      const keep = (await branchExists(input.repo, branch)) && (await isAncestor(input.repo, base, `refs/heads/${branch}`));
      const args = keep ? ['worktree', 'add', path, branch] : ['worktree', 'add', '-B', branch, path, base];
      await runGit(args, { cwd: input.repo });
      return { path, branch };
    });
  }

  async function remove(repo: string, path: string): Promise<void> {
    const target = resolve(path);
    if (!isInside(target, root) || target === root) {
      throw new KageError('KAGE_INVALID_INPUT', `Expected \`path\` to be a worktree under ${root}, got ${showValue(path)}`, {
        field: 'path',
      });
    }
    await withRepoKeyLock(await repoLockKey(repo), root, async () => {
      // Twice --force: also removes a worktree git considers locked. A success has deleted both the
      // directory and git's metadata; otherwise delete the directory and let prune drop the metadata.
      const res = await runGit(['worktree', 'remove', '--force', '--force', target], { cwd: repo, allowFail: true });
      if (res.code !== 0 || existsSync(target)) {
        await rm(target, { recursive: true, force: true });
        await runGit(['worktree', 'prune'], { cwd: repo });
      }
    });
    removeEmptyParents(target);
  }

  async function commitLeftovers(worktreePath: string, message: string, exclude: readonly string[] = []): Promise<string> {
    await commitStaged(worktreePath, message, exclude);
    return resolveCommit(worktreePath, 'HEAD');
  }

  async function commitStaged(worktreePath: string, message: string, exclude: readonly string[]): Promise<void> {
    await stage(worktreePath, exclude);
    await commitIndex(worktreePath, message);
  }

  async function stage(worktreePath: string, exclude: readonly string[]): Promise<void> {
    // No repository lock: staging and committing touch only this worktree's index and branch, plus new
    // objects, all of which git writes safely in parallel. The one shared step a commit could take,
    // auto-gc, is off in COMMIT_CONFIG.
    const pathspec = exclude.length > 0 ? ['--', '.', ...exclude.map((p) => `:(exclude,literal)${p}`)] : [];
    await runGit(['add', '-A', ...pathspec], { cwd: worktreePath });
  }

  async function commitIndex(worktreePath: string, message: string): Promise<void> {
    // Commit straight away, as there is usually something to commit; only a refusal needs the question
    // whether anything was staged (nothing: not an error) or the commit itself failed.
    const commitArgs = [...COMMIT_CONFIG, 'commit', '--no-verify', '--quiet', '-m', message];
    const commit = await runGit(commitArgs, { cwd: worktreePath, allowFail: true });
    if (commit.code !== 0) {
      const staged = await runGit(['diff', '--cached', '--quiet'], { cwd: worktreePath, allowFail: true });
      if (staged.code > 1) {
        throw new KageError('KAGE_GIT_FAILED', `git diff --cached --quiet failed in ${worktreePath}: ${staged.stderr.trim()}`);
      }
      if (staged.code === 1) {
        throw new KageError('KAGE_GIT_FAILED', `git commit failed in ${worktreePath}: ${(commit.stderr || commit.stdout).trim().slice(-2000)}`, {
          details: { args: commitArgs, cwd: worktreePath, code: commit.code, stderr: commit.stderr },
        });
      }
    }
  }

  async function commitAndDiff(worktreePath: string, message: string, baseCommit: string, exclude: readonly string[] = [],
    ref?: WorktreeRef) {
    await stage(worktreePath, exclude);
    // The staged index is the tree the commit records, so its diff against the base is read meanwhile.
    const [, diff] = await Promise.all([commitIndex(worktreePath, message), stagedDiffStats(worktreePath, baseCommit)]);
    return { head: await headOf(worktreePath, ref), diff };
  }

  /** The worktree's HEAD: by its branch's name from the resolver when there is one, else from git. */
  async function headOf(worktreePath: string, ref: WorktreeRef | undefined): Promise<string> {
    if (ref !== undefined && options.resolve !== undefined && headBranchOf(worktreePath) === ref.branch) {
      const [head] = await options.resolve(ref.repo, [{ name: `refs/heads/${ref.branch}`, kind: 'commit' }]);
      if (head) return head;
    }
    return resolveCommit(worktreePath, 'HEAD');
  }

  async function untrackedPaths(worktreePath: string): Promise<string[]> {
    const out = await runGit(['status', '--porcelain', '-z', '--untracked-files=normal'], { cwd: worktreePath });
    return out.stdout.split('\0').filter((entry) => entry.startsWith('?? ')).map((entry) => entry.slice(3).replace(/\/$/, ''));
  }

  function listWorktreesOnDisk(): string[] {
    let level = [root];
    for (let depth = 0; depth < WORKTREE_DEPTH; depth++) {
      const next: string[] = [];
      for (const dir of level) {
        let entries;
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch {
          continue;
        }
        // Dot-directories hold locks and temporary merge worktrees, never clone worktrees.
        for (const entry of entries) {
          if (entry.isDirectory() && !entry.name.startsWith('.')) next.push(join(dir, entry.name));
        }
      }
      level = next;
    }
    return level.sort();
  }

  async function sweepOrphans(knownPaths: Set<string>, activeTasks: Set<string> = new Set()): Promise<string[]> {
    const known = new Set<string>();
    for (const p of knownPaths) {
      known.add(resolve(p));
      known.add(realpathOr(p));
    }
    const removed: string[] = [];
    for (const dir of listWorktreesOnDisk()) {
      if (known.has(dir) || known.has(realpathOr(dir))) continue;
      if (activeTasks.has(basename(dirname(dir)))) continue;
      // A full repository (a `.git` directory) was not made by kage: leave it alone.
      if (existsSync(join(dir, '.git')) && statSync(join(dir, '.git')).isDirectory()) continue;
      const common = readWorktreeCommonDir(dir);
      if (common !== null && existsSync(common)) {
        const key = realpathOr(common);
        await withRepoKeyLock(key, root, async () => {
          await rm(dir, { recursive: true, force: true });
          await runGit(['worktree', 'prune'], { cwd: key, allowFail: true });
        });
      } else {
        await rm(dir, { recursive: true, force: true });
      }
      removeEmptyParents(dir);
      removed.push(dir);
    }
    return removed;
  }

  return {
    root,
    add,
    remove,
    commitLeftovers,
    commitAndDiff,
    untrackedPaths,
    diffStats,
    sweepOrphans,
    listWorktreesOnDisk,
  };
}

