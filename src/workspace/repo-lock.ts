// The per-repository lock around every `git worktree` and ref-moving command kage runs.
//
// Git guards its shared state with `index.lock`, `worktrees/<name>/locked` and ref lock files, but it
// does not wait for them: a second `git worktree add` that meets the first one's lock simply fails.
// So kage queues its own commands per repository: an in-process mutex (cheap, FIFO) plus a file lock
// under `<root>/.locks/` so that several kage processes on one machine take turns too.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { KageError } from '../domain/index.js';
import { gitCommonDir } from './git.js';

/** How long a lock may go without its mtime refreshed before another process may break it. */
const STALE_MS = 30_000;
/** Retry schedule while another process holds the lock: about two minutes in all. */
const RETRIES = { retries: 700, factor: 1.2, minTimeout: 20, maxTimeout: 200 };

const tails = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier caller with the same key finished (FIFO, in this process). */
async function withMutex<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

export function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Distinct paths remembered before the cache starts over; a process sees a handful of repositories. */
const KEY_CACHE_MAX = 256;
const keys = new Map<string, Promise<string>>();

/**
 * The lock key of a repository: its shared git directory, the same whichever worktree names it.
 * Remembered per path, since a path's git directory does not move while kage runs and every locked
 * operation asks; a failed lookup is not remembered.
 */
export function repoLockKey(repo: string): Promise<string> {
  const known = keys.get(repo);
  if (known) return known;
  if (keys.size >= KEY_CACHE_MAX) keys.clear();
  const key = gitCommonDir(repo).then(realpathOr);
  keys.set(repo, key);
  key.catch(() => {
    if (keys.get(repo) === key) keys.delete(repo);
  });
  return key;
}

/** Path of the cross-process lock file for a repository key (proper-lockfile adds `.lock`). */
export function repoLockPath(root: string, key: string): string {
  return join(root, '.locks', shortHash(key, 16));
}

/** Runs `fn` holding the lock of the repository whose shared git directory is `key` (see repoLockKey). */
export async function withRepoKeyLock<T>(key: string, root: string, fn: () => Promise<T>): Promise<T> {
  return withMutex(key, async () => {
    const file = repoLockPath(root, key);
    mkdirSync(join(root, '.locks'), { recursive: true });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(file, {
        realpath: false,
        stale: STALE_MS,
        retries: RETRIES,
        // A compromised lock (mtime not refreshed, e.g. a suspended laptop) must not crash the
        // process; git's own lock files still stop the worst of a collision.
        onCompromised: () => undefined,
      });
    } catch (err) {
      throw new KageError('KAGE_GIT_FAILED', `Timed out waiting for the repository lock ${file}.lock held by another kage process`, {
        cause: err,
      });
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  });
}

/**
 * Runs `fn` holding the lock of `repo` (any path inside it, or one of its worktrees).
 * `root` is the worktree root (KAGE_HOME/worktrees); every caller on one machine must pass the same one.
 */
export async function withRepoLock<T>(repo: string, root: string, fn: () => Promise<T>): Promise<T> {
  return withRepoKeyLock(await repoLockKey(repo), root, fn);
}
