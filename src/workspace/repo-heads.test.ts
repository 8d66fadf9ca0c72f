import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchCheck } from './batch-check.js';
import { createRepoHeads, quickResolver, type RepoHeads } from './repo-heads.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();
}

function repo(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'kage-heads-')));
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'a');
  return dir;
}

/** Pids of this process's children whose command line starts with `git cat-file`. */
function catFileChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && cmd[0] === 'git' && cmd[1] === 'cat-file') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

let heads: RepoHeads | null = null;
afterEach(async () => {
  await heads?.close();
  heads = null;
});

describe('quickResolver', () => {
  it('answers names from the long-lived process, and null where a name is none', async () => {
    const dir = repo();
    git(dir, 'branch', 'feature');
    heads = createRepoHeads();
    const resolve = quickResolver(heads);
    const commit = git(dir, 'rev-parse', 'HEAD');
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}');

    const names = [{ name: 'refs/heads/main', kind: 'commit' as const }, { name: 'feature', kind: 'commit' as const },
      { name: 'nope', kind: 'commit' as const }, { name: 'main', kind: 'tree' as const }];
    expect(await resolve(dir, names)).toEqual([commit, commit, null, tree]);
    expect(catFileChildren()).toHaveLength(1);
  });

  it('asks git itself once the repository heads are closed', async () => {
    const dir = repo();
    heads = createRepoHeads();
    await heads.close();
    expect(await quickResolver(heads)(dir, [{ name: 'main', kind: 'commit' }])).toEqual([git(dir, 'rev-parse', 'HEAD')]);
  });
});

describe('createRepoHeads', () => {
  it('answers the current branch and its commit, and follows commits and branch switches', async () => {
    const dir = repo();
    heads = createRepoHeads();
    expect(await heads.branchHead(dir, null)).toEqual({ root: dir, branch: 'main', commit: git(dir, 'rev-parse', 'HEAD') });
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'b');
    expect((await heads.branchHead(dir, null))?.commit).toBe(git(dir, 'rev-parse', 'HEAD'));
    git(dir, 'checkout', '-q', '-b', 'topic');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'c');
    expect(await heads.branchHead(dir, null)).toEqual({ root: dir, branch: 'topic', commit: git(dir, 'rev-parse', 'topic') });
    expect((await heads.branchHead(dir, 'main'))?.commit).toBe(git(dir, 'rev-parse', 'main'));
  });

  it('answers from a subdirectory, a symlinked path and a linked worktree', async () => {
    const dir = repo();
    mkdirSync(join(dir, 'sub'));
    const link = join(mkdtempSync(join(tmpdir(), 'kage-link-')), 'repo');
    symlinkSync(dir, link);
    const worktree = join(mkdtempSync(join(tmpdir(), 'kage-wt-')), 'wt');
    git(dir, 'worktree', 'add', '-q', '-b', 'side', worktree);
    heads = createRepoHeads();
    const main = git(dir, 'rev-parse', 'main');
    expect(await heads.branchHead(join(dir, 'sub'), null)).toEqual({ root: dir, branch: 'main', commit: main });
    expect(await heads.branchHead(link, null)).toEqual({ root: dir, branch: 'main', commit: main });
    expect(readlinkSync(link)).toBe(dir);
    expect(await heads.branchHead(worktree, null)).toEqual({ root: realpathSync(worktree), branch: 'side', commit: main });
  });

  it('gives null where only the slow questions name the problem', async () => {
    const dir = repo();
    heads = createRepoHeads();
    expect(await heads.branchHead(mkdtempSync(join(tmpdir(), 'kage-plain-')), null)).toBeNull();
    expect(await heads.branchHead('/no/such/dir', null)).toBeNull();
    expect(await heads.branchHead(dir, 'no-such-branch')).toBeNull();
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'b');
    // Revision syntax would name a commit that is not a branch.
    for (const name of ['main~1', 'main^', 'main@{0}', 'HEAD:a.txt', '-main', 'a..b', 'main\nmain']) {
      expect(await heads.branchHead(dir, name)).toBeNull();
    }
    git(dir, 'checkout', '-q', '--detach');
    expect(await heads.branchHead(dir, null)).toBeNull();
    const empty = realpathSync(mkdtempSync(join(tmpdir(), 'kage-empty-')));
    git(empty, 'init', '-q', '-b', 'main');
    expect(await heads.branchHead(empty, null)).toBeNull();
  });

  it('sees a repository re-created at the same path', async () => {
    const dir = repo();
    heads = createRepoHeads();
    const before = (await heads.branchHead(dir, null))?.commit;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'another');
    const after = (await heads.branchHead(dir, null))?.commit;
    expect(after).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(after).not.toBe(before);
  });

  it('runs one cat-file per repository, for every caller, and stops it on close', async () => {
    const a = repo();
    const b = repo();
    heads = createRepoHeads();
    await Promise.all(Array.from({ length: 20 }, (_, i) => heads!.branchHead(i % 2 ? a : b, null)));
    expect(catFileChildren()).toHaveLength(2);
    await heads.close();
    expect(catFileChildren()).toHaveLength(0);
    expect(await heads.branchHead(a, null)).toBeNull();
  });
});

describe('createBatchCheck', () => {
  it('starts a new process when the old one died, and answers null to the questions it took along', async () => {
    const dir = repo();
    const batch = createBatchCheck(dir);
    const head = git(dir, 'rev-parse', 'HEAD');
    expect(await batch.resolve('refs/heads/main', 'commit')).toBe(head);
    const [pid] = catFileChildren();
    process.kill(pid!, 'SIGKILL');
    expect(await batch.resolve('refs/heads/main', 'commit')).toBeOneOf([null, head]);
    expect(await batch.resolve('refs/heads/main', 'commit')).toBe(head);
    expect(await batch.resolve('refs/heads/main', 'tree')).toBe(git(dir, 'rev-parse', 'HEAD^{tree}'));
    await batch.close();
    expect(catFileChildren()).toHaveLength(0);
  });

  it('gives up on a process that does not answer in time', async () => {
    const dir = repo();
    const batch = createBatchCheck(dir, { answerTimeoutMs: 200 });
    await batch.resolve('refs/heads/main', 'commit');
    const [pid] = catFileChildren();
    process.kill(pid!, 'SIGSTOP');
    expect(await batch.resolve('refs/heads/main', 'commit')).toBeNull();
    expect(await batch.resolve('refs/heads/main', 'commit')).toBe(git(dir, 'rev-parse', 'HEAD'));
    await batch.close();
  });
});
