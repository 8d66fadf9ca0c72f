import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKageError } from '../domain/index.js';
import { COMMIT_CONFIG, branchExists, isDirty, resolveCommit, runGit } from '../workspace/git.js';
import { createWorktreeManager, type WorktreeManager } from '../workspace/worktrees.js';
import { parseWorktreeList } from './advance.js';
import { filesChanged, findConflicts, findConflictsMany, parseMergeTree, parseMergeTreeBatch, parseNameStatus } from './conflicts.js';
import { cleanMessage, mergeClone, type MergeCloneInput } from './merge.js';

const TASK_ID = '0badc0de-1111-4222-8333-444455556666';
const RESULT_BRANCH = 'kage/0badc0de/merged';

let tmp: string;
let repo: string;
let root: string;
let tmpRoot: string;
let base: string;
let manager: WorktreeManager;

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await runGit([...COMMIT_CONFIG, ...args], { cwd })).stdout.trim();
}

/** Commits everything in the user's checkout. */
async function commitAll(message: string): Promise<string> {
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', message);
  return resolveCommit(repo, 'HEAD');
}

/** A clone branch from the task's base commit, with `edit` applied in its worktree and committed. */
async function makeClone(name: string, edit: (dir: string) => void): Promise<{ branch: string; head: string; path: string }> {
  const wt = await manager.add({ repo, taskId: TASK_ID, cloneName: name, baseCommit: base });
  edit(wt.path);
  const head = await manager.commitLeftovers(wt.path, `${name} work`);
  return { branch: wt.branch, head, path: wt.path };
}

function input(cloneBranch: string, over: Partial<MergeCloneInput> = {}): MergeCloneInput {
  return {
    repo,
    baseBranch: 'main',
    baseCommit: base,
    cloneBranch,
    strategy: 'auto',
    message: `kage: merge ${cloneBranch}`,
    resultBranch: RESULT_BRANCH,
    tmpRoot,
    lockRoot: root,
    ...over,
  };
}

async function snapshot(): Promise<{ head: string; status: string; refs: string; worktrees: string; index: string }> {
  return {
    head: await resolveCommit(repo, 'HEAD'),
    status: await git(repo, 'status', '--porcelain', '--untracked-files=all'),
    refs: await git(repo, 'for-each-ref', '--format=%(refname) %(objectname)'),
    worktrees: await git(repo, 'worktree', 'list', '--porcelain'),
    index: await git(repo, 'ls-files', '--stage'),
  };
}

const read = (path: string): string => readFileSync(path, 'utf8');

beforeEach(async () => {
  tmp = realpathSync(await mkdtemp(join(tmpdir(), 'kage-merge-')));
  repo = join(tmp, 'repo');
  root = join(tmp, 'home', 'worktrees');
  tmpRoot = join(tmp, 'home', 'tmp');
  mkdirSync(repo);
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# demo\n');
  writeFileSync(join(repo, 'app.txt'), 'line1\nline2\nline3\n');
  writeFileSync(join(repo, 'gone.txt'), 'to be deleted by the clone\n');
  writeFileSync(join(repo, 'kept.txt'), 'to be deleted on main\n');
  base = await commitAll('base');
  manager = createWorktreeManager({ root });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('findConflicts', () => {
  it('finds conflicts between two branches without touching any working tree', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'app.txt'), 'line1\nCLONE\nline3\n'));
    writeFileSync(join(repo, 'app.txt'), 'line1\nMAIN\nline3\n');
    await commitAll('main edit');
    writeFileSync(join(repo, 'scratch.txt'), 'uncommitted\n');
    writeFileSync(join(repo, 'README.md'), '# demo, edited\n');
    const before = await snapshot();
    const cloneStatus = await git(clone.path, 'status', '--porcelain');

    const report = await findConflicts(repo, 'main', clone.branch);

    expect(report).toEqual({ clean: false, conflicts: ['app.txt'], tree: null });
    expect(await snapshot()).toEqual(before);
    expect(await git(clone.path, 'status', '--porcelain')).toBe(cloneStatus);
    expect(await resolveCommit(clone.path, 'HEAD')).toBe(clone.head);
  });

  it('reports a clean merge with its tree', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    writeFileSync(join(repo, 'other.txt'), 'other\n');
    await commitAll('main edit');

    const report = await findConflicts(repo, 'main', clone.branch);

    expect(report.clean).toBe(true);
    expect(report.conflicts).toEqual([]);
    expect(report.tree).toMatch(/^[0-9a-f]{40}$/);
    const files = (await git(repo, 'ls-tree', '--name-only', report.tree ?? '')).split('\n');
    expect(files).toEqual(expect.arrayContaining(['feature.txt', 'other.txt']));
    expect(await filesChanged(repo, base, clone.branch)).toEqual(['feature.txt']);
  });

  it('answers a repeated question about two commits alike, and a changed answer does not leak into the next', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'app.txt'), 'line1\nCLONE\nline3\n'));
    writeFileSync(join(repo, 'app.txt'), 'line1\nMAIN\nline3\n');
    const tip = await commitAll('main edit');

    const first = await findConflicts(repo, tip, clone.head);
    first.conflicts.push('mutated.txt');
    const second = await findConflicts(repo, tip, clone.head);

    expect(second).toEqual({ clean: false, conflicts: ['app.txt'], tree: null });
  });

  it('answers many pairs with one process, each as findConflicts would, in the order asked', async () => {
    const alpha = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'app.txt'), 'line1\nALPHA\nline3\n'));
    const beta = await makeClone('beta', (dir) => writeFileSync(join(dir, 'app.txt'), 'line1\nBETA\nline3\n'));
    const gamma = await makeClone('gamma', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    writeFileSync(join(repo, 'app.txt'), 'line1\nMAIN\nline3\n');
    const tip = await commitAll('main edit');
    const pairs = [[tip, alpha.head], [tip, gamma.head], [alpha.head, beta.head], [beta.head, gamma.head]] as const;

    const many = await findConflictsMany(repo, pairs);

    expect(many.map((r) => r.conflicts)).toEqual([['app.txt'], [], ['app.txt'], []]);
    expect(many.map((r) => r.clean)).toEqual([false, true, false, true]);
    // The same answers one by one (the batch remembered them; a fresh repository path asks git again).
    const single = await Promise.all(pairs.map(([a, b]) => findConflicts(`${repo}/.`, a, b)));
    expect(single).toEqual(many);
  });

  it('names the unknown commit when one pair of a batch cannot be merged', async () => {
    const alpha = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    const missing = 'f'.repeat(40);

    const err = await findConflictsMany(repo, [[base, alpha.head], [base, missing]]).catch((e: unknown) => e);

    expect(isKageError(err, 'KAGE_GIT_FAILED')).toBe(true);
    expect((err as Error).message).toContain(missing);
  });

  it('parses merge-tree and worktree list output', () => {
    const tree = 'b'.repeat(40);
    expect(parseMergeTreeBatch(['1', tree, '', '0', tree, 'x.txt', 'y.txt', '', ''].join('\0'), 2)).toEqual([
      { clean: true, conflicts: [], tree },
      { clean: false, conflicts: ['x.txt', 'y.txt'], tree: null },
    ]);
    expect(parseMergeTreeBatch(`1\0${tree}\0\0`, 2)).toBeNull();
    expect(parseMergeTreeBatch(`merge-tree: bad\0`, 1)).toBeNull();
    expect(parseMergeTree(`${'a'.repeat(40)}\0x.txt\0dir/y z.txt\0`, 1)).toEqual({
      clean: false,
      conflicts: ['x.txt', 'dir/y z.txt'],
      tree: null,
    });
    expect(parseNameStatus('M\0a.txt\0A\0dir/new file\0D\0gone.txt\0')).toEqual({
      files: ['a.txt', 'dir/new file', 'gone.txt'],
      added: ['dir/new file'],
    });
    expect(parseWorktreeList('worktree /r\0HEAD abc\0branch refs/heads/main\0\0worktree /t\0HEAD abc\0detached\0\0')).toEqual([
      { path: '/r', branch: 'refs/heads/main', prunable: false },
      { path: '/t', branch: null, prunable: false },
    ]);
  });
});

describe('mergeClone', () => {
  it('auto merges a clean clone and advances the checked-out base branch (working tree updated)', async () => {
    const clone = await makeClone('alpha', (dir) => {
      writeFileSync(join(dir, 'feature.txt'), 'feature\n');
      writeFileSync(join(dir, 'README.md'), '# demo\nwith a feature\n');
    });
    writeFileSync(join(repo, 'other.txt'), 'other\n');
    const tip = await commitAll('main moved');

    const result = await mergeClone(input(clone.branch));

    expect(result.status).toBe('merged');
    expect(result.branch).toBe('main');
    expect(result.conflicts).toEqual([]);
    expect([...result.mergedFiles].sort()).toEqual(['README.md', 'feature.txt']);
    expect(await resolveCommit(repo, 'main')).toBe(result.commit);
    expect(await resolveCommit(repo, 'HEAD')).toBe(result.commit);
    expect((await git(repo, 'log', '-1', '--format=%P', 'main')).split(' ')).toEqual([tip, clone.head]);
    expect(read(join(repo, 'feature.txt'))).toBe('feature\n');
    expect(read(join(repo, 'README.md'))).toBe('# demo\nwith a feature\n');
    expect(await isDirty(repo)).toBe(false);
    expect(await branchExists(repo, RESULT_BRANCH)).toBe(false);
    expect(readdirSync(tmpRoot)).toEqual([]);
    expect((await git(repo, 'worktree', 'list')).split('\n')).toHaveLength(2);
  });

  it('records the merge message as git merge would, with blank runs and trailing spaces cleaned', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));

    const result = await mergeClone(input(clone.branch, { message: '\n\nkage: merge alpha  \n\n\n\nFix it.\t\nsecond line\n\n' }));

    expect(result.status).toBe('merged');
    expect(await git(repo, 'cat-file', 'commit', result.commit ?? '')).toMatch(/\n\nkage: merge alpha\n\nFix it\.\nsecond line\n?$/);
    expect(cleanMessage('a \r\n\n \n\tb\n')).toBe('a\n\n\tb\n');
  });

  it('merges a clone whose change the base already has, though nothing changes', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    writeFileSync(join(repo, 'feature.txt'), 'feature\n');
    const tip = await commitAll('same change on main');

    const result = await mergeClone(input(clone.branch));

    expect(result.status).toBe('merged');
    expect(result.mergedFiles).toEqual([]);
    expect((await git(repo, 'log', '-1', '--format=%P', 'main')).split(' ')).toEqual([tip, clone.head]);
  });

  it('merges even when the task base commit no longer resolves', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));

    const result = await mergeClone(input(clone.branch, { baseCommit: 'f'.repeat(40) }));

    expect(result.status).toBe('merged');
    expect(result.message).not.toMatch(/had moved/);
  });

  it('reports a base branch that does not exist as a bad ref', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));

    const err = await mergeClone(input(clone.branch, { baseBranch: 'no-such-branch' })).catch((e: unknown) => e);

    expect(isKageError(err, 'KAGE_BAD_REF')).toBe(true);
  });

  it('auto refuses to merge when conflicting and changes nothing', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'app.txt'), 'line1\nCLONE\nline3\n'));
    writeFileSync(join(repo, 'app.txt'), 'line1\nMAIN\nline3\n');
    await commitAll('main edit');
    const before = await snapshot();

    const result = await mergeClone(input(clone.branch));

    expect(result).toMatchObject({ status: 'conflicts', commit: null, branch: null, mergedFiles: [], conflicts: ['app.txt'] });
    expect(result.message).toContain('app.txt');
    expect(await snapshot()).toEqual(before);
    expect(read(join(repo, 'app.txt'))).toBe('line1\nMAIN\nline3\n');
  });

  it("theirs resolves conflicts in the clone's favour", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]);
    const clone = await makeClone('alpha', (dir) => {
      writeFileSync(join(dir, 'app.txt'), 'line1\nCLONE\nline3\nclone tail\n');
      unlinkSync(join(dir, 'gone.txt'));
      writeFileSync(join(dir, 'kept.txt'), 'the clone needs this\n');
      writeFileSync(join(dir, 'logo.png'), png);
    });
    writeFileSync(join(repo, 'app.txt'), 'line1\nMAIN\nline3\n');
    writeFileSync(join(repo, 'gone.txt'), 'main edited what the clone deleted\n');
    unlinkSync(join(repo, 'kept.txt'));
    writeFileSync(join(repo, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 9, 9, 9, 9]));
    writeFileSync(join(repo, 'main-only.txt'), 'main\n');
    await commitAll('main edits');

    const result = await mergeClone(input(clone.branch, { strategy: 'theirs' }));

    expect(result.status).toBe('merged');
    expect([...result.conflicts].sort()).toEqual(['app.txt', 'gone.txt', 'kept.txt', 'logo.png']);
    expect(await resolveCommit(repo, 'HEAD')).toBe(result.commit);
    expect(read(join(repo, 'app.txt'))).toBe(read(join(clone.path, 'app.txt')));
    expect(read(join(repo, 'kept.txt'))).toBe('the clone needs this\n');
    expect(readFileSync(join(repo, 'logo.png'))).toEqual(png);
    expect(existsSync(join(repo, 'gone.txt'))).toBe(false);
    expect(read(join(repo, 'main-only.txt'))).toBe('main\n');
    expect(await git(repo, 'log', '-1', '--format=%B')).toBe(`kage: merge ${clone.branch}`);
    expect(await isDirty(repo)).toBe(false);
  });

  it('never touches a dirty checkout: the result stays on kage/<id>/merged', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    writeFileSync(join(repo, 'README.md'), '# my uncommitted edit\n');
    writeFileSync(join(repo, 'notes.txt'), 'my notes\n');
    const before = await snapshot();

    const result = await mergeClone(input(clone.branch));

    expect(result.status).toBe('merged_to_branch');
    expect(result.branch).toBe(RESULT_BRANCH);
    expect(await resolveCommit(repo, RESULT_BRANCH)).toBe(result.commit);
    expect(result.mergedFiles).toEqual(['feature.txt']);
    expect(result.message).toMatch(/uncommitted changes/);
    const after = await snapshot();
    expect(after.head).toBe(before.head);
    expect(after.status).toBe(before.status);
    expect(after.index).toBe(before.index);
    expect(await resolveCommit(repo, 'main')).toBe(base);
    expect(read(join(repo, 'README.md'))).toBe('# my uncommitted edit\n');
    expect(read(join(repo, 'notes.txt'))).toBe('my notes\n');
    expect(existsSync(join(repo, 'feature.txt'))).toBe(false);
  });

  it('keeps an ignored local file the merge would overwrite', async () => {
    writeFileSync(join(repo, '.git', 'info', 'exclude'), 'local.cfg\n');
    writeFileSync(join(repo, 'local.cfg'), 'my secret settings\n');
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'local.cfg'), 'clone settings\n'));
    // The clone's worktree shares info/exclude, so its leftovers skipped the file: add it by force.
    await git(clone.path, 'add', '-f', 'local.cfg');
    await git(clone.path, 'commit', '-q', '-m', 'force');

    const result = await mergeClone(input(clone.branch));

    expect(result.status).toBe('merged_to_branch');
    expect(result.message).toContain('local.cfg');
    expect(read(join(repo, 'local.cfg'))).toBe('my secret settings\n');
    expect(await resolveCommit(repo, 'main')).toBe(base);
  });

  it('advances a base branch that is not checked out anywhere', async () => {
    await git(repo, 'branch', 'release');
    await git(repo, 'checkout', '-q', '-b', 'work');
    writeFileSync(join(repo, 'wip.txt'), 'work in progress\n');
    await commitAll('work');
    const before = await snapshot();
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));

    const result = await mergeClone(input(clone.branch, { baseBranch: 'release' }));

    expect(result.status).toBe('merged');
    expect(result.branch).toBe('release');
    expect(await resolveCommit(repo, 'release')).toBe(result.commit);
    expect(await git(repo, 'show', `${result.commit}:feature.txt`)).toBe('feature');
    const after = await snapshot();
    expect(after.head).toBe(before.head);
    expect(after.status).toBe('');
    expect(existsSync(join(repo, 'feature.txt'))).toBe(false);
  });

  it('deletes the merged clone branch when asked, with the base checked out or not', async () => {
    const checkedOut = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    const first = await mergeClone(input(checkedOut.branch, { deleteMergedBranch: true }));
    expect(first).toMatchObject({ status: 'merged', branchDeleted: true });
    expect(await branchExists(repo, checkedOut.branch.replace('refs/heads/', ''))).toBe(false);
    expect(read(join(repo, 'feature.txt'))).toBe('feature\n');

    await git(repo, 'branch', 'release');
    const elsewhere = await makeClone('beta', (dir) => writeFileSync(join(dir, 'other.txt'), 'other\n'));
    const second = await mergeClone(input(elsewhere.branch, { baseBranch: 'release', deleteMergedBranch: true }));
    expect(second).toMatchObject({ status: 'merged', branchDeleted: true });
    expect(await branchExists(repo, elsewhere.branch)).toBe(false);
    expect(await git(repo, 'show', `release:other.txt`)).toBe('other');
  });

  it('keeps the clone branch when the merge only reaches kage/<id>/merged', async () => {
    const clone = await makeClone('alpha', (dir) => writeFileSync(join(dir, 'feature.txt'), 'feature\n'));
    writeFileSync(join(repo, 'README.md'), '# uncommitted edit\n');

    const result = await mergeClone(input(clone.branch, { deleteMergedBranch: true }));

    expect(result.status).toBe('merged_to_branch');
    expect(result.branchDeleted).toBeUndefined();
    expect(await resolveCommit(repo, clone.branch)).toBe(clone.head);
  });

  it('reports a clone with nothing new as failed without changing anything', async () => {
    const wt = await manager.add({ repo, taskId: TASK_ID, cloneName: 'idle', baseCommit: base });
    const before = await snapshot();

    const result = await mergeClone(input(wt.branch));

    expect(result.status).toBe('failed');
    expect(result.commit).toBeNull();
    expect(result.message).toMatch(/Nothing to merge/);
    expect(await snapshot()).toEqual(before);
  });
});
