// Which commit a checkout's branch points at, answered without a git process per question: the checkout's
// root and git directories are cached per path (they do not change), the current branch is read from the
// worktree's HEAD file on every call (it does change), and commits come from one long-lived
// `git cat-file --batch-check` per repository. Anything unusual answers null: callers then ask git step
// by step, which is slower but names the precise problem.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createBatchCheck, type BatchCheck } from './batch-check.js';
import { resolveObjects, runGit, type ObjectKind, type ObjectResolver } from './git.js';

export interface BranchHead {
  /** Top-level directory of the working tree, symlinks resolved. */
  root: string;
  branch: string;
  commit: string;
}

export interface RepoHeads {
  /** `branch` of the checkout at `path` (its current branch when null) and its commit; null when unsure. */
  branchHead(path: string, branch: string | null): Promise<BranchHead | null>;
  /**
   * Object ids of `names` (each as its `kind`) in the repository of the checkout at `path`, from the
   * long-lived process: null for a name it does not know, or for every name when unsure.
   */
  resolveObjects(path: string, names: readonly { name: string; kind: ObjectKind }[]): Promise<(string | null)[]>;
  /** Ends every git process; later calls answer null. */
  close(): Promise<void>;
}

interface Checkout {
  root: string;
  /** The worktree's own git directory, which holds its HEAD. */
  gitDir: string;
  /** The repository's shared git directory (refs and objects), the same for all its worktrees. */
  commonDir: string;
}

interface Repository {
  batch: BatchCheck;
  /** Identity of the shared git directory when the process started: a repository re-created at the same
   * path is a different one, which the old process (whose working directory is gone) cannot see. */
  inode: string;
}

export interface RepoHeadsOptions {
  /** Paths whose checkout is remembered; the least recently used is forgotten past this. */
  maxCheckouts?: number;
  /** Repositories with a git process; the least recently used one's process ends past this. */
  maxRepositories?: number;
}

/**
 * A name `refs/heads/<name>` can only mean that branch: without revision syntax (`~`, `^`, `:`, `@{`, `..`)
 * that cat-file would apply, or characters git refuses in ref names. Anything else goes the slow way.
 */
const PLAIN_BRANCH = /^(?![-./])(?!.*(?:\.\.|@\{|\/\/|\/\.|\.lock$|\.lock\/|\/$|\.$))[^\0-\x20\x7f~^:?*[\\]+$/;

function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number, evict?: (value: V) => void): void {
  map.delete(key);
  map.set(key, value);
  if (map.size <= max) return;
  const [oldestKey, oldest] = map.entries().next().value as [K, V];
  map.delete(oldestKey);
  evict?.(oldest);
}

/**
 * The HEAD file's text, null when unreadable. Read synchronously: for a file of one line that costs a tenth
 * of the four thread-pool round trips (open, stat, read, close) of an asynchronous read.
 */
function readHead(gitDir: string): string | null {
  try {
    return readFileSync(join(gitDir, 'HEAD'), 'utf8');
  } catch {
    return null;
  }
}

async function inodeOf(path: string): Promise<string | null> {
  const s = await stat(path).catch(() => null);
  return s ? `${s.dev}:${s.ino}` : null;
}

export function createRepoHeads(opts: RepoHeadsOptions = {}): RepoHeads {
  const maxCheckouts = opts.maxCheckouts ?? 256;
  const maxRepositories = opts.maxRepositories ?? 16;
  const checkouts = new Map<string, Checkout>();
  const repositories = new Map<string, Repository>();
  const closing = new Set<Promise<void>>();
  let closed = false;

  const retire = (repository: Repository): void => {
    const done = repository.batch.close().finally(() => closing.delete(done));
    closing.add(done);
  };

  async function checkoutAt(path: string): Promise<Checkout | null> {
    const key = resolve(path);
    const known = checkouts.get(key);
    if (known) {
      touch(checkouts, key, known, maxCheckouts);
      return known;
    }
    if (!existsSync(key)) return null;
    // `--path-format` applies to the options after it.
    const res = await runGit(['rev-parse', '--show-toplevel', '--path-format=absolute', '--absolute-git-dir', '--git-common-dir'],
      { cwd: key, allowFail: true });
    const [root, gitDir, commonDir] = res.stdout.split('\n');
    if (res.code !== 0 || !root || !gitDir || !commonDir) return null;
    const checkout = { root: realpathSync(root), gitDir, commonDir };
    touch(checkouts, key, checkout, maxCheckouts);
    return checkout;
  }

  async function repositoryAt(commonDir: string): Promise<Repository | null> {
    const known = repositories.get(commonDir);
    if (known) {
      touch(repositories, commonDir, known, maxRepositories);
      return known;
    }
    const inode = await inodeOf(commonDir);
    if (inode === null || closed || repositories.has(commonDir)) return repositories.get(commonDir) ?? null;
    const repository = { batch: createBatchCheck(commonDir), inode };
    touch(repositories, commonDir, repository, maxRepositories, retire);
    return repository;
  }

  /** The commit of `refs/heads/<branch>`; null when there is none or the answer cannot be trusted. */
  async function branchCommit(commonDir: string, branch: string): Promise<string | null> {
    const repository = await repositoryAt(commonDir);
    if (!repository) return null;
    const commit = await repository.batch.resolve(`refs/heads/${branch}`, 'commit');
    if (commit !== null || (await inodeOf(commonDir)) === repository.inode) return commit;
    // The repository was replaced under the process: start one in the new repository and ask again.
    if (repositories.get(commonDir) === repository) {
      repositories.delete(commonDir);
      retire(repository);
    }
    return (await repositoryAt(commonDir))?.batch.resolve(`refs/heads/${branch}`, 'commit') ?? null;
  }

  return {
    async branchHead(path, branch) {
      if (closed) return null;
      const checkout = await checkoutAt(path);
      if (!checkout) return null;
      let name = branch;
      if (name === null) {
        const head = readHead(checkout.gitDir);
        if (head === null) {
          checkouts.delete(resolve(path));
          return null;
        }
        // A detached HEAD holds a commit id; a symbolic one `ref: refs/heads/<branch>`.
        name = /^ref: refs\/heads\/(.+)$/.exec(head.trim())?.[1] ?? null;
      }
      if (name === null || !PLAIN_BRANCH.test(name)) return null;
      const commit = await branchCommit(checkout.commonDir, name);
      return commit === null ? null : { root: checkout.root, branch: name, commit };
    },

    async resolveObjects(path, names) {
      const checkout = closed ? null : await checkoutAt(path);
      const repository = checkout === null ? null : await repositoryAt(checkout.commonDir);
      if (repository === null) return names.map(() => null);
      return Promise.all(names.map(({ name, kind }) => repository.batch.resolve(name, kind)));
    },

    async close() {
      closed = true;
      for (const repository of repositories.values()) retire(repository);
      repositories.clear();
      checkouts.clear();
      await Promise.all([...closing]);
    },
  };
}

/**
 * Resolves names from the long-lived process; the names it answers null for (unknown, or a process that
 * failed) are asked again with a git process of their own, which is slower but sure.
 */
export function quickResolver(heads: RepoHeads): ObjectResolver {
  return async (repo, names) => {
    const quick = await heads.resolveObjects(repo, names);
    const unsure = names.filter((_, i) => quick[i] === null);
    if (unsure.length === 0) return quick;
    const sure = await resolveObjects(repo, unsure);
    let next = 0;
    return quick.map((oid) => oid ?? sure[next++] ?? null);
  };
}
