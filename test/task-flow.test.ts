// The whole pipeline in one process: real git repos, a real PostgreSQL database, real agent processes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalTask, type TaskRecord } from '../src/domain/index.js';
import type { Kage } from '../src/main/app.js';
import { isProcessAlive } from '../src/process/supervisor.js';
import { freshDatabase, makeRepo, openKage, tempDir, waitFor, writeFiles } from './support/harness.js';
import { COMMIT_CONFIG, runGit } from '../src/workspace/git.js';

let kage: Kage;

beforeAll(async () => {
  kage = await openKage({ databaseUrl: await freshDatabase() });
  await kage.runtime.start(8);
});

afterAll(async () => {
  await kage?.close();
});

async function finished(taskId: string, timeoutMs = 45_000): Promise<TaskRecord> {
  return waitFor(`task ${taskId} to finish`, async () => {
    const task = await kage.ctx.store.getTask(taskId);
    return task && isTerminalTask(task.status) ? task : undefined;
  }, timeoutMs);
}

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

describe('a task end to end', () => {
  it('runs three clones, ranks the fixing one first and merges it into the base branch', async () => {
    const repo = await makeRepo({
      'package.json': '{"type":"module","scripts":{"test":"node --test"}}\n',
      'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
      'test/math.test.js': "import { test } from 'node:test';\nimport assert from 'node:assert';\nimport { add } from '../src/math.js';\ntest('add', () => assert.strictEqual(add(2, 3), 5));\n",
    });
    const { task } = await kage.tasks.createTask({
      description: 'Fix add()',
      repo,
      checkCommand: 'node --test',
      clones: [
        { agent: 'fake', name: 'fixer', options: { behaviour: 'fix' } },
        { agent: 'fake', name: 'wrong', options: { behaviour: 'wrong' } },
        { agent: 'fake', name: 'idle', options: { behaviour: 'noop' } },
      ],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect(done.bestClone).toBe('fixer');
    expect(done.mergeStatus).toBe('merged');
    expect(readFileSync(join(repo, 'src/math.js'), 'utf8')).toContain('return a + b;');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(done.mergeCommit);

    const clones = await kage.ctx.store.getClones(task.id);
    const byName = Object.fromEntries(clones.map((c) => [c.name, c]));
    expect(byName.fixer).toMatchObject({ status: 'succeeded', checkStatus: 'passed', rank: 1, worktree: null });
    expect(byName.wrong).toMatchObject({ checkStatus: 'failed', rank: 2 });
    expect(byName.idle).toMatchObject({ checkStatus: 'failed', rank: 3 });
    expect(byName.fixer!.diff).toEqual({ files: ['src/math.js'], insertions: 1, deletions: 1 });
    expect(byName.fixer!.usage.inputTokens).toBe(1200);
    expect(byName.fixer!.usage.outputTokens).toBe(300);
    expect(byName.idle!.diff!.files).toEqual([]);
    for (const c of clones) expect(c.reason).toBeTruthy();
    expect(kage.ctx.worktrees.listWorktreesOnDisk()).toEqual([]);
    // The losers' branches stay for inspection; the merged winner's branch is gone.
    expect(git(repo, 'branch', '--list', 'kage/*').split('\n').map((b) => b.trim()).sort())
      .toEqual([`kage/${task.id.slice(0, 8)}/idle`, `kage/${task.id.slice(0, 8)}/wrong`]);

    const types = (await kage.ctx.store.listEvents(task.id)).map((e) => e.type);
    for (const t of ['task_created', 'clone_queued', 'clone_started', 'agent_tool_use', 'agent_usage', 'check_finished',
      'clone_finished', 'judge_result', 'merge_result', 'task_finished']) expect(types).toContain(t);
    expect(types.at(-1)).toBe('task_finished');
  });

  it('passes shell syntax in a description to the agent as one literal argument and runs none of it', async () => {
    const repo = await makeRepo();
    const marker = tempDir('marker');
    const description = `Do this $(touch ${marker}/a) and \`touch ${marker}/b\`; touch ${marker}/c\ntouch ${marker}/d | touch ${marker}/e`;
    const { task } = await kage.tasks.createTask({
      description,
      repo,
      checkCommand: 'test -f prompt.txt',
      clones: [{ agent: 'shell', options: { argv: [process.execPath, '-e', "require('fs').writeFileSync('prompt.txt', process.argv[1])", '{prompt}'] } }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect(readFileSync(join(repo, 'prompt.txt'), 'utf8')).toBe(description);
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(existsSync(join(marker, name))).toBe(false);
    // The commit message carries the description too, as data.
    expect(git(repo, 'log', '-1', '--format=%B', 'HEAD^2')).toContain('Do this $(touch');
  });

  it('never touches a dirty checkout: the merge result stays on kage/<id>/merged', async () => {
    const repo = await makeRepo({ 'README.md': 'original\n' });
    writeFileSync(join(repo, 'README.md'), 'my uncommitted work\n');
    const headBefore = git(repo, 'rev-parse', 'HEAD');
    const { task } = await kage.tasks.createTask({ description: 'add a file', repo, clones: [{ agent: 'fake', options: { behaviour: 'ok' } }] });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect(done.mergeStatus).toBe('merged_to_branch');
    expect(done.mergeBranch).toBe(`kage/${task.id.slice(0, 8)}/merged`);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('my uncommitted work\n');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(headBefore);
    expect(existsSync(join(repo, 'kage-fake.txt'))).toBe(false);
    expect(git(repo, 'show', `${done.mergeBranch}:kage-fake.txt`)).toBe('hello from fake');
  });

  it('stops for review under auto when the base branch moved and conflicts, then theirs merges the clone', async () => {
    const repo = await makeRepo({ 'notes.txt': 'base\n' });
    const { task, clones } = await kage.tasks.createTask({
      description: 'rewrite notes',
      repo,
      mergeStrategy: 'auto',
      clones: [{ agent: 'fake', options: { behaviour: 'slow', delayMs: 300, file: 'notes.txt', content: 'from the clone\n' } }],
    });
    // While the clone works, the user commits a conflicting change on main.
    await waitFor('the clone to run', async () => ((await kage.ctx.store.getClone(clones[0]!.id))?.status === 'running' ? true : undefined));
    await writeFiles(repo, { 'notes.txt': 'from the user\n' });
    await runGit([...COMMIT_CONFIG, 'commit', '-qam', 'user change'], { cwd: repo });
    const done = await finished(task.id);
    expect(done.status).toBe('needs_review');
    expect(done.mergeStatus).toBe('conflicts');
    expect(done.conflicts).toEqual(['notes.txt']);
    expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('from the user\n');

    const merged = await kage.tasks.mergeTask(task.id, { strategy: 'theirs' });
    expect(merged.result.status).toBe('merged');
    expect(merged.task.status).toBe('completed');
    expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('from the clone\n');
  });

  it('merges nothing under manual until asked, then merges the chosen clone', async () => {
    const repo = await makeRepo();
    const { task } = await kage.tasks.createTask({
      description: 'two ideas', repo, mergeStrategy: 'manual',
      clones: [
        { agent: 'fake', name: 'one', options: { behaviour: 'ok', file: 'one.txt' } },
        { agent: 'fake', name: 'two', options: { behaviour: 'ok', file: 'two.txt' } },
      ],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('needs_review');
    expect(done.mergeStatus).toBe('manual');
    expect(existsSync(join(repo, 'one.txt')) || existsSync(join(repo, 'two.txt'))).toBe(false);
    const merged = await kage.tasks.mergeTask(task.id, { clone: 'two' });
    expect(merged.result.status).toBe('merged');
    expect(existsSync(join(repo, 'two.txt'))).toBe(true);
    expect(existsSync(join(repo, 'one.txt'))).toBe(false);
  });

  it('retries a crashing clone with doubling backoff, then fails it', async () => {
    const repo = await makeRepo();
    const { task, clones } = await kage.tasks.createTask({
      description: 'crash please', repo, maxRetries: 2, retryDelaySeconds: 0.1,
      clones: [{ agent: 'fake', options: { behaviour: 'crash' } }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('failed');
    const clone = (await kage.ctx.store.getClone(clones[0]!.id))!;
    expect(clone.status).toBe('failed');
    expect(clone.retries).toBe(2);
    expect(clone.attempt).toBe(2);
    expect(clone.error).toMatch(/simulated crash|without|crash/i);
    const retries = (await kage.ctx.store.listEvents(task.id)).filter((e) => e.type === 'clone_retry');
    expect(retries.map((e) => e.payload.delayMs)).toEqual([100, 200]);
  });

  it('does not retry a permanent API error (400)', async () => {
    const repo = await makeRepo();
    const { task, clones } = await kage.tasks.createTask({
      description: 'bad request', repo, maxRetries: 3, retryDelaySeconds: 0.1,
      clones: [{ agent: 'fake', options: { behaviour: 'error' } }],
    });
    await finished(task.id);
    const clone = (await kage.ctx.store.getClone(clones[0]!.id))!;
    expect(clone.status).toBe('failed');
    expect(clone.retries).toBe(0);
    expect(clone.error).toMatch(/400/);
  });

  it('kills the whole process group when the clone times out', async () => {
    const repo = await makeRepo();
    const { task, clones } = await kage.tasks.createTask({
      description: 'hang', repo, maxRetries: 0, clones: [{ agent: 'fake', timeoutSeconds: 2, options: { behaviour: 'hang' } }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('failed');
    const clone = (await kage.ctx.store.getClone(clones[0]!.id))!;
    expect(clone.status).toBe('timeout');
    const leader = (await kage.ctx.store.listEvents(task.id)).find((e) => e.type === 'agent_spawned')?.payload.pid as number;
    const grandchild = Number(git(repo, 'show', `${clone.branch}:.fake-child.pid`));
    expect(leader).toBeGreaterThan(1);
    expect(grandchild).toBeGreaterThan(1);
    expect(isProcessAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild)).toBe(false);
  });

  it('kills the whole process group on cancel and marks everything cancelled', async () => {
    const repo = await makeRepo();
    const { task, clones } = await kage.tasks.createTask({
      description: 'hang forever', repo, clones: [{ agent: 'fake', options: { behaviour: 'hang' } }, { agent: 'fake', options: { behaviour: 'hang' } }],
    });
    // Both agents have started their child (and written its pid) once they say "Thinking...".
    const pids = await waitFor('both agents to start their child', async () => {
      const events = await kage.ctx.store.listEvents(task.id);
      const thinking = events.filter((e) => e.type === 'agent_message' && e.payload.text === 'Thinking...');
      return thinking.length === 2 ? events.filter((e) => e.type === 'agent_spawned').map((e) => e.payload.pid as number) : undefined;
    });
    await kage.tasks.cancelTask(task.id);
    const done = await finished(task.id);
    expect(done.status).toBe('cancelled');
    await waitFor('clone jobs to end', async () => (kage.runtime.runningCount() === 0 ? true : undefined));
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
    for (const c of clones) {
      const clone = (await kage.ctx.store.getClone(c.id))!;
      expect(clone.status).toBe('cancelled');
      expect(clone.worktree).toBeNull();
      const grandchild = Number(git(repo, 'show', `${clone.branch}:.fake-child.pid`));
      expect(isProcessAlive(grandchild)).toBe(false);
    }
    await expect(kage.tasks.cancelTask(task.id)).rejects.toMatchObject({ code: 'KAGE_TASK_FINISHED' });
  });

  it('survives an output flood without storing it all', async () => {
    const repo = await makeRepo();
    const { task, clones } = await kage.tasks.createTask({
      description: 'flood', repo, clones: [{ agent: 'fake', options: { behaviour: 'flood', floodBytes: 30_000_000 } }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect((await kage.ctx.store.getClone(clones[0]!.id))!.status).toBe('succeeded');
    const events = await kage.ctx.store.listEvents(task.id);
    const stored = events.reduce((n, e) => n + JSON.stringify(e.payload).length, 0);
    expect(stored).toBeLessThan(1_000_000);
  });

  it('reports conflicting edits between clones and still merges the best one cleanly', async () => {
    const repo = await makeRepo({ 'config.txt': 'base\n' });
    const { task } = await kage.tasks.createTask({
      description: 'change the config', repo, mergeStrategy: 'auto',
      clones: [
        { agent: 'fake', name: 'short', options: { behaviour: 'conflict', file: 'config.txt', content: 'a\n' } },
        { agent: 'fake', name: 'long', options: { behaviour: 'conflict', file: 'config.txt', content: 'b\nb\nb\n' } },
      ],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect(done.bestClone).toBe('short');
    expect(readFileSync(join(repo, 'config.txt'), 'utf8')).toBe('a\n');
    const report = (await kage.ctx.store.listEvents(task.id)).find((e) => e.type === 'conflict_report')!.payload;
    const pairs = report.pairs as { a: string; b: string; conflicts: string[] }[];
    expect(pairs).toHaveLength(1);
    expect([pairs[0]!.a, pairs[0]!.b].sort()).toEqual(['long', 'short']);
    expect(pairs[0]!.conflicts).toEqual(['config.txt']);
    expect(report.vsBase).toEqual({ short: [], long: [] });
  });

  it('runs the setup command in each worktree before the agent, and fails the clone when setup fails', async () => {
    const repo = await makeRepo();
    const ok = await kage.tasks.createTask({
      description: 'with setup', repo, setupCommand: 'echo prepared > .setup-ran && mkdir -p deps && echo x > deps/lib.js',
      checkCommand: 'test -f .setup-ran && test -f deps/lib.js',
      clones: [{ agent: 'fake', options: { behaviour: 'ok' } }],
    });
    const done = await finished(ok.task.id);
    expect(done.status).toBe('completed');
    // The check saw what setup made, but setup's files are not committed as the agent's work.
    expect((await kage.ctx.store.getClone(ok.clones[0]!.id))!.checkStatus).toBe('passed');
    expect(existsSync(join(repo, 'kage-fake.txt'))).toBe(true);
    expect(existsSync(join(repo, '.setup-ran'))).toBe(false);
    expect(existsSync(join(repo, 'deps'))).toBe(false);

    const bad = await kage.tasks.createTask({
      description: 'broken setup', repo, setupCommand: 'exit 7', maxRetries: 2,
      clones: [{ agent: 'fake', options: { behaviour: 'ok' } }],
    });
    const failed = await finished(bad.task.id);
    expect(failed.status).toBe('failed');
    const clone = (await kage.ctx.store.getClone(bad.clones[0]!.id))!;
    expect(clone.status).toBe('failed');
    expect(clone.retries).toBe(0);
    expect(clone.error).toMatch(/Setup command failed \(exit 7\)/);
    const types = (await kage.ctx.store.listEvents(bad.task.id)).map((e) => e.type);
    expect(types).not.toContain('agent_spawned');
  });

  it('rejects unknown agents, missing repos and bad refs without storing anything', async () => {
    const repo = await makeRepo();
    const before = (await kage.ctx.store.listTasks({ limit: 1, offset: 0 })).total;
    await expect(kage.tasks.createTask({ description: 'x', repo, clones: [{ agent: 'nope' }] }))
      .rejects.toMatchObject({ code: 'KAGE_UNKNOWN_AGENT', field: 'clones[0].agent' });
    await expect(kage.tasks.createTask({ description: 'x', repo: tempDir('empty'), clones: [{ agent: 'fake' }] }))
      .rejects.toMatchObject({ code: 'KAGE_NOT_A_REPO', field: 'repo' });
    await expect(kage.tasks.createTask({ description: 'x', repo, baseRef: 'no-such-branch', clones: [{ agent: 'fake' }] }))
      .rejects.toMatchObject({ code: 'KAGE_BAD_REF', field: 'baseRef' });
    const detached = await makeRepo();
    git(detached, 'checkout', '-q', '--detach');
    await expect(kage.tasks.createTask({ description: 'x', repo: detached, clones: [{ agent: 'fake' }] }))
      .rejects.toMatchObject({ code: 'KAGE_BAD_REF', message: expect.stringContaining('detached HEAD') });
    expect((await kage.ctx.store.listTasks({ limit: 1, offset: 0 })).total).toBe(before);
  });
});
