// What the `kage` CLI leaves behind when things go wrong: a kage process killed mid-task, and an agent
// that outlives its timeout together with the children it started.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, isProcessGroupAlive } from '../src/process/supervisor.js';
import { runGit } from '../src/workspace/git.js';
import {
  freshDatabase,
  kageCli,
  makeRepo,
  spawnKage,
  tempDir,
  waitFor,
  waitForExit,
  worktreeDirs,
} from './support/harness.js';
import { parseJson, taskStatus, type TaskJson } from './support/cli-json.js';


function isFakeAgentProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('fake-agent') || cmdline.includes("process.on('SIGTERM'");
  } catch {
    return false;
  }
}

describe('kage after failures', () => {
  let env: Record<string, string>;
  let home: string;
  const children: ChildProcess[] = [];
  /** Agent processes a failing test could leave behind; killed only while they still run a fake agent. */
  const agentPids: number[] = [];

  beforeAll(async () => {
    home = tempDir('recovery-home');
    env = { DATABASE_URL: await freshDatabase(), KAGE_HOME: home, KAGE_KILL_GRACE: '1', KAGE_RETRY_DELAY: '0.2' };
  });

  afterAll(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    }
    for (const pid of agentPids) {
      if (isProcessAlive(pid) && isFakeAgentProcess(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a crash mid-task is reconciled at the next start', async () => {
    const repo = await makeRepo();
    const run = spawnKage(['run', 'slow work', '--repo', repo, '--agent', 'fake', '--option', 'behaviour=slow',
      '--option', 'delayMs=1500', '--retries', '1'], env);
    children.push(run);
    const id = await waitFor('the task id on the first line', async () => {
      const found = /^Task ([0-9a-f-]{36}): /m.exec(run.output())?.[1];
      if (found) return found;
      throw new Error(`output so far: ${run.output().slice(-500)}`);
    }, 20_000);
    const running = await waitFor('the agent to be running', async () => {
      const task = await taskStatus(id, env);
      const clone = task.clones[0];
      if (clone?.status === 'running' && clone.pid !== null) return clone;
      throw new Error(`task ${task.status}, clone ${clone?.status} pid ${clone?.pid}`);
    }, 20_000);
    const agentPid = running.pid!;
    agentPids.push(agentPid);
    expect(running).toMatchObject({ attempt: 0, retries: 0 });
    expect(running.worktree).not.toBeNull();

    process.kill(run.pid!, 'SIGKILL');
    await waitForExit(run, 'the killed kage run');
    expect(run.signalCode).toBe('SIGKILL');

    const stuck = await taskStatus(id, env);
    expect(stuck.status).toBe('running');
    expect(stuck.clones[0]?.status).toBe('running');

    const worker = await kageCli(['worker', '--exit-when-idle'], env, { timeoutMs: 50_000 });
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toContain('Recovered: 1 clone(s) requeued');

    const done = await taskStatus(id, env);
    expect(done).toMatchObject({ status: 'completed', mergeStatus: 'merged' });
    expect(done.clones.filter((c) => ['preparing', 'running', 'queued', 'retrying'].includes(c.status))).toEqual([]);
    expect(done.clones[0]).toMatchObject({ status: 'succeeded', attempt: 1, retries: 1, worktree: null });
    expect((await kageCli(['status', id], env)).stdout).toMatch(/^fake\s+succeeded\s+2\s/m);

    const events = (await kageCli(['logs', id, '--json'], env)).stdout.split('\n').filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; payload: Record<string, unknown> });
    expect(events.filter((e) => e.type === 'clone_retry').map((e) => e.payload)).toEqual([expect.objectContaining({ attempt: 2, recovered: true })]);
    expect(events.filter((e) => e.type === 'clone_started').map((e) => e.payload.attempt)).toEqual([1, 2]);

    expect(isProcessGroupAlive(agentPid)).toBe(false);
    expect(isProcessAlive(agentPid)).toBe(false);
    expect(worktreeDirs(home)).toEqual([]);
    expect((await runGit(['show', 'main:kage-fake.txt'], { cwd: repo })).stdout).toBe('hello from fake\n');
  });

  it('the whole process group is dead after timeout', async () => {
    const repo = await makeRepo();
    const result = await kageCli(['run', 'hang forever', '--repo', repo, '--agent', 'fake', '--option', 'behaviour=hang',
      '--timeout', '2', '--retries', '0', '--json'], env, { timeoutMs: 40_000 });
    expect(result.code).not.toBe(0);
    const task = parseJson<TaskJson>(result, 'kage run --json');
    expect(task.status).toBe('failed');
    expect(task.clones[0]?.status).toBe('timeout');

    const branch = `kage/${task.id.slice(0, 8)}/fake`;
    const pidFile = await runGit(['show', `${branch}:.fake-child.pid`], { cwd: repo, allowFail: true });
    expect(pidFile.code, pidFile.stderr).toBe(0);
    const grandchild = Number(pidFile.stdout.trim());
    expect(Number.isInteger(grandchild) && grandchild > 1).toBe(true);
    agentPids.push(grandchild);
    expect(isProcessAlive(grandchild)).toBe(false);
    expect(worktreeDirs(home)).toEqual([]);
  });
});
