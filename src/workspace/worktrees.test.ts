import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKageError } from '../domain/index.js';
import { parseNumstat } from './diff.js';
import {
  COMMIT_CONFIG,
  branchExists,
  checkoutState,
  currentBranch,
  deleteBranch,
  isDirty,
  isGitRepo,
  repoRoot,
  resolveCommit,
  resolveCommits,
  resolveObjects,
  runGit,
} from './git.js';
import { repoLockKey, repoLockPath } from './repo-lock.js';
import { createWorktreeManager, headBranchOf, withRepoLock, type WorktreeManager } from './worktrees.js';

const TASK_ID = '3f2a9c1e-7b4d-4e8a-9f00-123456789abc';

let tmp: string;
let repo: string;
let root: string;
let base: string;
let manager: WorktreeManager;

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await runGit([...COMMIT_CONFIG, ...args], { cwd })).stdout.trim();
}

async function worktreePaths(): Promise<string[]> {
  const out = await git(repo, 'worktree', 'list', '--porcelain');
  return out
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => realpathSync(l.slice('worktree '.length)));
}

beforeEach(async () => {
  tmp = realpathSync(await mkdtemp(join(tmpdir(), 'kage-wt-')));
  repo = join(tmp, 'repo');
  root = join(tmp, 'home', 'worktrees');
  mkdirSync(repo);
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), 'one\ntwo\nthree\n');
  writeFileSync(join(repo, 'old.txt'), 'a\nb\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'base');
  base = await resolveCommit(repo, 'HEAD');
  manager = createWorktreeManager({ root });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('worktree manager', () => {
  it('creates a worktree on its own branch outside the repo and removes it keeping the branch', async () => {
    const wt = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });

    expect(wt.branch).toBe('kage/3f2a9c1e/alpha');
    expect(relative(repo, wt.path).startsWith('..')).toBe(true);
    expect(relative(root, wt.path).split('/')).toEqual([expect.stringMatching(/^repo-[0-9a-f]{8}$/), '3f2a9c1e', 'alpha']);
    expect(await currentBranch(wt.path)).toBe(wt.branch);
    expect(await resolveCommit(wt.path, 'HEAD')).toBe(base);
    expect(readFileSync(join(wt.path, 'README.md'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(await worktreePaths()).toContain(realpathSync(wt.path));
    expect(manager.listWorktreesOnDisk()).toEqual([wt.path]);

    await manager.remove(repo, wt.path);

    expect(existsSync(wt.path)).toBe(false);
    expect(await branchExists(repo, wt.branch)).toBe(true);
    expect(await worktreePaths()).toEqual([repo]);
    expect(manager.listWorktreesOnDisk()).toEqual([]);
  });

  it('reuses the worktree of an earlier attempt and keeps the branch commits', async () => {
    const first = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    writeFileSync(join(first.path, 'work.txt'), 'attempt one\n');
    const head = await manager.commitLeftovers(first.path, 'attempt one');

    const again = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    expect(again).toEqual(first);
    expect(await resolveCommit(again.path, 'HEAD')).toBe(head);

    await manager.remove(repo, first.path);
    const fresh = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    expect(await resolveCommit(fresh.path, 'HEAD')).toBe(head);
    expect(readFileSync(join(fresh.path, 'work.txt'), 'utf8')).toBe('attempt one\n');
  });

  it('adds a worktree again after its directory vanished without git being told', async () => {
    const first = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    writeFileSync(join(first.path, 'work.txt'), 'attempt one\n');
    const head = await manager.commitLeftovers(first.path, 'attempt one');
    await rm(first.path, { recursive: true, force: true });

    const again = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });

    expect(again).toEqual(first);
    expect(await resolveCommit(again.path, 'HEAD')).toBe(head);
    expect(await worktreePaths()).toEqual([repo, realpathSync(again.path)]);
  });

  it('resets a leftover branch that does not contain the base commit', async () => {
    await git(repo, 'checkout', '-q', '--orphan', 'kage/3f2a9c1e/alpha');
    await git(repo, 'commit', '-q', '-m', 'unrelated');
    await git(repo, 'checkout', '-q', 'main');

    const wt = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });

    expect(await resolveCommit(wt.path, 'HEAD')).toBe(base);
  });

  it('concurrent adds on one repo all succeed (8 at once)', async () => {
    const other = createWorktreeManager({ root });
    const adds = Array.from({ length: 8 }, (_, i) =>
      (i % 2 === 0 ? manager : other).add({ repo, taskId: TASK_ID, cloneName: `clone-${i}`, baseCommit: base }),
    );

    const results = await Promise.all(adds);

    expect(new Set(results.map((r) => r.path)).size).toBe(8);
    expect((await worktreePaths()).length).toBe(9);
    for (const r of results) expect(await currentBranch(r.path)).toBe(r.branch);
    await Promise.all(results.map((r) => manager.remove(repo, r.path)));
    expect(await worktreePaths()).toEqual([repo]);
  });

  it('commits leftovers and reports diff stats (files, +/-)', async () => {
    const wt = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    writeFileSync(join(wt.path, 'README.md'), 'one\nTWO\nthree\nfour\n');
    writeFileSync(join(wt.path, 'new.txt'), 'x\ny\nz\n');
    writeFileSync(join(wt.path, 'logo.bin'), Buffer.from([0, 1, 2, 0, 255, 0]));
    unlinkSync(join(wt.path, 'old.txt'));
    expect(await isDirty(wt.path)).toBe(true);

    const head = await manager.commitLeftovers(wt.path, 'leftovers');

    expect(head).not.toBe(base);
    expect(await isDirty(wt.path)).toBe(false);
    expect(await git(wt.path, 'log', '-1', '--format=%an <%ae> %s')).toBe('kage <kage@localhost> leftovers');
    const stats = await manager.diffStats(wt.path, base, head);
    expect([...stats.files].sort()).toEqual(['README.md', 'logo.bin', 'new.txt', 'old.txt']);
    expect(stats.insertions).toBe(2 + 3);
    expect(stats.deletions).toBe(1 + 2);
    expect(await manager.commitLeftovers(wt.path, 'nothing new')).toBe(head);
  });

  it('reads the new head by branch name from the resolver, and from git when the agent left the branch', async () => {
    const asked: string[] = [];
    const resolving = createWorktreeManager({ root, resolve: async (repoPath, names) => {
      asked.push(...names.map((n) => `${repoPath} ${n.name}`));
      return resolveObjects(repoPath, names);
    } });
    const wt = await resolving.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base });
    writeFileSync(join(wt.path, 'new.txt'), 'x\n');
    expect(headBranchOf(wt.path)).toBe(wt.branch);

    writeFileSync(join(wt.path, 'README.md'), 'one\nTWO\n');
    unlinkSync(join(wt.path, 'old.txt'));
    mkdirSync(join(wt.path, 'node_modules'));
    writeFileSync(join(wt.path, 'node_modules', 'dep.js'), 'made by setup\n');

    const first = await resolving.commitAndDiff(wt.path, 'one', base, ['node_modules'], { repo, branch: wt.branch });

    expect(first.head).toBe(await resolveCommit(wt.path, 'HEAD'));
    // The diff read from the index while committing is the committed one.
    expect(first.diff).toEqual(await resolving.diffStats(wt.path, base, first.head));
    expect([...first.diff.files].sort()).toEqual(['README.md', 'new.txt', 'old.txt']);
    expect(asked).toEqual([`${repo} refs/heads/${wt.branch}`]);

    await git(wt.path, 'checkout', '-q', '-b', 'elsewhere');
    writeFileSync(join(wt.path, 'more.txt'), 'y\n');
    expect(headBranchOf(wt.path)).toBe('elsewhere');
    const second = await resolving.commitAndDiff(wt.path, 'two', base, [], { repo, branch: wt.branch });

    expect(second.head).toBe(await resolveCommit(wt.path, 'HEAD'));
    expect(second.head).not.toBe(await resolveCommit(repo, wt.branch));
    expect(asked).toHaveLength(1);
    await git(wt.path, 'checkout', '-q', '--detach');
    expect(headBranchOf(wt.path)).toBeNull();
    expect(headBranchOf(repo)).toBeNull();
  });

  it('sweeps orphan worktrees not owned by live clones', async () => {
    const live = await manager.add({ repo, taskId: TASK_ID, cloneName: 'live', baseCommit: base });
    const dead = await manager.add({ repo, taskId: TASK_ID, cloneName: 'dead', baseCommit: base });
    const dead2 = await manager.add({ repo, taskId: '99999999-0000', cloneName: 'gone', baseCommit: base });
    const stray = join(root, 'x-00000000', 'abcdef12', 'half-made');
    mkdirSync(stray, { recursive: true });

    const removed = await manager.sweepOrphans(new Set([live.path]));

    expect([...removed].sort()).toEqual([dead.path, dead2.path, stray].sort());
    expect(manager.listWorktreesOnDisk()).toEqual([live.path]);
    expect(await worktreePaths()).toEqual([repo, realpathSync(live.path)]);
    expect(existsSync(join(root, 'x-00000000'))).toBe(false);
    expect(await branchExists(repo, dead.branch)).toBe(true);
  });

  it('refuses a worktree root inside the repository', async () => {
    const inside = createWorktreeManager({ root: join(repo, '.kage', 'worktrees') });
    const err = await inside.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: base }).catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_INVALID_CONFIG')).toBe(true);
  });

  it('rejects a clone name that could escape its directory', async () => {
    const err = await manager.add({ repo, taskId: TASK_ID, cloneName: '../x', baseCommit: base }).catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_INVALID_INPUT')).toBe(true);
  });

  it('reports an unknown base commit as a bad ref', async () => {
    const err = await manager.add({ repo, taskId: TASK_ID, cloneName: 'alpha', baseCommit: 'nope' }).catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_BAD_REF')).toBe(true);
  });
});

describe('repository lock', () => {
  it('runs callers on one repo one at a time and holds the lock file meanwhile', async () => {
    const file = repoLockPath(root, await repoLockKey(repo));
    const log: string[] = [];
    const run = (name: string) =>
      withRepoLock(join(repo, '.'), root, async () => {
        log.push(`${name}:in`);
        expect(await lockfile.check(file, { realpath: false })).toBe(true);
        await git(repo, 'status');
        log.push(`${name}:out`);
      });

    await Promise.all([run('a'), run('b'), run('c')]);

    // Which caller goes first depends on git's timing; what matters is that none overlaps another.
    expect(log).toHaveLength(6);
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i + 1]).toBe(log[i]?.replace(':in', ':out'));
    }
    expect(await lockfile.check(file, { realpath: false })).toBe(false);
  });

  it('waits for a lock held by another process', async () => {
    const file = repoLockPath(root, await repoLockKey(repo));
    const marker = join(tmp, 'released');
    mkdirSync(join(root, '.locks'), { recursive: true });
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const lockfile = require('proper-lockfile'); const fs = require('fs');
         lockfile.lock(process.argv[1], { realpath: false, stale: 30000 }).then((release) => {
           process.stdout.write('locked\\n');
           process.stdin.once('data', () => { fs.writeFileSync(process.argv[2], 'x'); release().then(() => process.exit(0)); });
         });`,
        file,
        marker,
      ],
      { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: holder.stdout });
    await new Promise<void>((resolve) => lines.once('line', () => resolve()));

    let sawMarker: boolean | null = null;
    const waiting = withRepoLock(repo, root, async () => {
      sawMarker = existsSync(marker);
    });
    // Real git work in between gives a lock that did not wait every chance to run first.
    for (let i = 0; i < 5; i++) await git(repo, 'worktree', 'list');
    expect(sawMarker).toBeNull();
    holder.stdin.write('release\n');
    await waiting;

    expect(sawMarker).toBe(true);
  });
});

describe('git helpers', () => {
  it('answers questions about a repository', async () => {
    expect(await isGitRepo(repo)).toBe(true);
    expect(await isGitRepo(join(tmp, 'missing'))).toBe(false);
    expect(await repoRoot(join(repo, '.git', '..'))).toBe(repo);
    expect(await currentBranch(repo)).toBe('main');
    await git(repo, 'checkout', '-q', '--detach');
    expect(await currentBranch(repo)).toBeNull();
    expect(await isDirty(repo)).toBe(false);
    writeFileSync(join(repo, 'untracked.txt'), 'u');
    expect(await isDirty(repo)).toBe(true);
    await git(repo, 'branch', 'topic');
    expect(await deleteBranch(repo, 'topic')).toBe(true);
    expect(await deleteBranch(repo, 'topic')).toBe(false);
  });

  it('resolves several names at once, null for each that names no commit', async () => {
    const tree = await git(repo, 'rev-parse', 'HEAD^{tree}');
    expect(await resolveObjects(repo, [
      { name: 'main', kind: 'commit' },
      { name: 'no-such-ref', kind: 'commit' },
      { name: '--all', kind: 'commit' },
      { name: 'main\nHEAD', kind: 'commit' },
      { name: 'HEAD', kind: 'tree' },
      { name: tree, kind: 'commit' },
    ])).toEqual([base, null, null, null, tree, null]);
    const err = await resolveCommits(repo, ['main', 'nope']).catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_BAD_REF')).toBe(true);
    expect(String((err as Error).message)).toContain('nope');
  });

  it('reads the checked-out commit and dirtiness from one status', async () => {
    expect(await checkoutState(repo)).toEqual({ head: base, dirty: false });
    writeFileSync(join(repo, '# branch.oid x'), 'a file named like a status header\n');
    expect(await checkoutState(repo)).toEqual({ head: base, dirty: true });
  });

  it('refuses to delete the branch a checkout is on', async () => {
    const err = await deleteBranch(repo, 'main').catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_GIT_FAILED')).toBe(true);
    expect(await branchExists(repo, 'main')).toBe(true);
  });

  it('throws a coded error with the stderr tail when git fails', async () => {
    const err = await runGit(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo }).catch((e: unknown) => e);
    expect(isKageError(err, 'KAGE_GIT_FAILED')).toBe(true);
    expect(String((err as Error).message)).toMatch(/^git rev-parse --verify no-such-ref failed in .*: fatal/);
    const res = await runGit(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo, allowFail: true });
    expect(res.code).toBe(128);
  });

  it('parses numstat output with binaries and renames', () => {
    expect(parseNumstat('3\t1\ta.txt\0-\t-\tb.png\0' + '2\t0\t\0old.txt\0new.txt\0')).toEqual({
      files: ['a.txt', 'b.png', 'new.txt'],
      insertions: 5,
      deletions: 1,
    });
  });
});
