// The built `kage` CLI end to end: real processes, real git repositories, real PostgreSQL (the embedded
// server under a fresh KAGE_HOME, or a fresh database on the shared test server).
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessGroupAlive } from '../src/process/supervisor.js';
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

const exec = promisify(execFile);


async function showFile(repo: string, rev: string, path: string): Promise<string | null> {
  const out = await runGit(['show', `${rev}:${path}`], { cwd: repo, allowFail: true });
  return out.code === 0 ? out.stdout : null;
}

/** Every `postmaster.pid` below the given directories. */
function postmasterPidFiles(dirs: string[]): string[] {
  const found = new Set<string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name === 'postmaster.pid') found.add(join(entry.parentPath, entry.name));
    }
  }
  return [...found];
}

/** Postmasters (`postgres -D <dataDir>`) running for this data directory, found through /proc. */
function postmastersFor(dataDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const d = argv.indexOf('-D');
    if (argv[0]?.endsWith('/postgres') && d !== -1 && argv[d + 1] === dataDir) pids.push(Number(name));
  }
  return pids;
}

/** The data directory of the embedded server of `home`, wherever `pg-location` moved it. */
function embeddedPgDir(home: string): string {
  const location = join(home, 'pg-location');
  return existsSync(location) ? readFileSync(location, 'utf8').trim() : join(home, 'pg');
}

describe('kage on its embedded PostgreSQL', () => {
  const homes: string[] = [];

  afterAll(async () => {
    for (const home of homes) await kageCli(['db', 'stop'], { KAGE_HOME: home });
  });

  it('kage demo passes end to end on the embedded server', async () => {
    const home = tempDir('demo-home');
    homes.push(home);
    const result = await kageCli(['demo'], { KAGE_HOME: home, KAGE_KILL_GRACE: '1' });
    expect(result.code, result.stderr).toBe(0);

    const rows = new Map(result.stdout.split('\n').filter((l) => /^fake-(fix|wrong|noop)\s+fake\s/.test(l))
      .map((l) => [l.split(/\s+/)[0]!, l.split(/\s+/)] as const));
    expect([...rows.keys()].sort()).toEqual(['fake-fix', 'fake-noop', 'fake-wrong']);
    expect(rows.get('fake-fix')).toEqual(expect.arrayContaining(['succeeded', 'passed']));
    expect(rows.get('fake-wrong')).toContain('failed');
    expect(rows.get('fake-noop')).toContain('failed');
    expect(result.stdout).toMatch(/^Best: fake-fix$/m);
    expect(result.stdout).toMatch(/^Merged fake-fix into main: commit [0-9a-f]{12} in /m);

    const repo = join(home, 'demo', 'repo');
    expect(await showFile(repo, 'main', 'src/math.js')).toContain('return a + b;');
    expect(readFileSync(join(repo, 'src/math.js'), 'utf8')).toContain('return a + b;');
    const tests = await exec(process.execPath, ['--test'], { cwd: repo }).then(() => 'passed', (err: { stdout?: string }) => `failed: ${err.stdout}`);
    expect(tests).toBe('passed');
    expect(worktreeDirs(home)).toEqual([]);
    expect(existsSync(join(embeddedPgDir(home), 'data', 'PG_VERSION'))).toBe(true);
  });

  it('two concurrent kage processes share one embedded server', async () => {
    const home = tempDir('shared-home');
    homes.push(home);
    const [repoA, repoB] = await Promise.all([makeRepo(), makeRepo()]);
    const env = { KAGE_HOME: home, KAGE_KILL_GRACE: '1' };
    const [a, b] = await Promise.all([
      kageCli(['run', 'write a file', '--repo', repoA, '--agent', 'fake', '--option', 'behaviour=ok'], env),
      kageCli(['run', 'write a file', '--repo', repoB, '--agent', 'fake', '--option', 'behaviour=ok'], env),
    ]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(await showFile(repoA, 'main', 'kage-fake.txt')).toBe('hello from fake\n');
    expect(await showFile(repoB, 'main', 'kage-fake.txt')).toBe('hello from fake\n');

    const status = parseJson<{ initialised: boolean; running: boolean; dataDir: string }>(await kageCli(['db', 'status'], env), 'kage db status');
    const dataDir = join(embeddedPgDir(home), 'data');
    expect(status).toMatchObject({ initialised: true, running: true, dataDir });
    expect(postmasterPidFiles([home, embeddedPgDir(home)])).toEqual([join(dataDir, 'postmaster.pid')]);
    expect(postmastersFor(dataDir)).toHaveLength(1);

    const listed = parseJson<{ total: number }>(await kageCli(['status', '--json'], env), 'kage status --json');
    expect(listed.total).toBe(2);
  });
});

describe('kage on a PostgreSQL server given by DATABASE_URL', () => {
  let env: Record<string, string>;
  let home: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    home = tempDir('home');
    env = { DATABASE_URL: await freshDatabase(), KAGE_HOME: home, KAGE_KILL_GRACE: '1', KAGE_RETRY_DELAY: '0.2' };
  });

  afterAll(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    }
  });

  function spawnTracked(args: string[]): ReturnType<typeof spawnKage> {
    const child = spawnKage(args, env);
    children.push(child);
    return child;
  }

  it('kage run --json prints the final task record', async () => {
    const repo = await makeRepo();
    const result = await kageCli(['run', 'write a file', '--repo', repo, '--agent', 'fake', '--option', 'behaviour=ok', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const task = parseJson<TaskJson>(result, 'kage run --json');
    expect(task).toMatchObject({ status: 'completed', bestClone: 'fake', mergeStatus: 'merged' });
    expect(task.clones).toHaveLength(1);
    expect(task.clones[0]).toMatchObject({ name: 'fake', status: 'succeeded' });
    expect((await runGit(['rev-parse', 'main'], { cwd: repo })).stdout.trim()).toBe(task.mergeCommit);
  });

  it('the same agent given twice gets clones fake and fake-2', async () => {
    const repo = await makeRepo();
    const result = await kageCli(['run', 'write a file', '--repo', repo, '--agent', 'fake', '--agent', 'fake', '--option', 'behaviour=ok', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const task = parseJson<TaskJson>(result, 'kage run --json');
    expect(task.clones.map((c) => c.name).sort()).toEqual(['fake', 'fake-2']);
    expect(task.clones.map((c) => c.branch).sort()).toEqual([`kage/${task.id.slice(0, 8)}/fake`, `kage/${task.id.slice(0, 8)}/fake-2`]);
    expect(task.clones.every((c) => c.status === 'succeeded')).toBe(true);
  });

  it('bad input gets a clear error naming the field', async () => {
    const badEnv = { ...env, DATABASE_URL: await freshDatabase() };
    const repo = await makeRepo();

    const agent = await kageCli(['run', 'do it', '--repo', repo, '--agent', 'nope'], badEnv);
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toContain('"nope"');
    expect(agent.stderr).toContain('valid agents: claude-code, codex, gemini-cli, opencode, qwen-code, ollama, anthropic-api, openai-api, fake, shell');
    expect(agent.stderr).toContain('[KAGE_UNKNOWN_AGENT]');

    const merge = await kageCli(['run', 'do it', '--repo', repo, '--merge', 'sometimes'], badEnv);
    expect(merge.code).not.toBe(0);
    expect(merge.stderr).toContain('`mergeStrategy`');
    expect(merge.stderr).toContain('"sometimes"');
    expect(merge.stderr).toContain('[KAGE_INVALID_INPUT]');

    const notRepo = tempDir('not-a-repo');
    const repoError = await kageCli(['run', 'do it', '--repo', notRepo], badEnv);
    expect(repoError.code).not.toBe(0);
    expect(repoError.stderr).toContain('`repo`');
    expect(repoError.stderr).toContain(notRepo);
    expect(repoError.stderr).toContain('[KAGE_NOT_A_REPO]');

    const listed = await kageCli(['status', '--json'], badEnv);
    expect(parseJson<{ total: number }>(listed, 'kage status --json').total).toBe(0);
    expect((await kageCli(['status'], badEnv)).stdout).toContain('No tasks yet');
    expect((await runGit(['branch', '--list', 'kage/*'], { cwd: repo })).stdout.trim()).toBe('');
  });

  it('shell syntax in a description is never executed', async () => {
    const marker = `kage-injected-${process.pid}-${Date.now()}`;
    const names = [1, 2, 3, 4].map((i) => `${marker}-${i}`);
    const description = `Fix it $(touch ${names[0]}) and \`touch ${names[1]}\`; touch ${names[2]}\ntouch ${names[3]}\n`;
    const cwd = tempDir('cwd');
    const configDir = tempDir('config');
    const configFile = join(configDir, 'config.json');
    writeFileSync(configFile, JSON.stringify({
      agents: { shell: { options: { argv: ['node', '-e', "require('fs').writeFileSync('prompt.txt', process.argv[1])", '{prompt}'] } } },
    }));
    const runEnv = { ...env, KAGE_CONFIG: configFile };

    const fakeRepo = await makeRepo();
    const fake = await kageCli(['run', description, '--repo', fakeRepo, '--agent', 'fake', '--option', 'behaviour=ok',
      '--check', 'test -f kage-fake.txt', '--json'], runEnv, { cwd });
    expect(fake.code, fake.stderr).toBe(0);
    expect(parseJson<TaskJson>(fake, 'kage run --json')).toMatchObject({ status: 'completed', mergeStatus: 'merged' });

    const shellRepo = await makeRepo();
    const shell = await kageCli(['run', description, '--repo', shellRepo, '--agent', 'shell', '--check', 'test -s prompt.txt', '--json'], runEnv, { cwd });
    expect(shell.code, shell.stderr).toBe(0);
    expect(parseJson<TaskJson>(shell, 'kage run --json')).toMatchObject({ status: 'completed', bestClone: 'shell', mergeStatus: 'merged' });
    expect(await showFile(shellRepo, 'main', 'prompt.txt')).toBe(description);
    expect(readFileSync(join(shellRepo, 'prompt.txt'), 'utf8')).toBe(description);

    const injected = (dir: string, recursive: boolean): string[] =>
      (readdirSync(dir, { recursive }) as string[]).filter((p) => p.includes(marker));
    for (const dir of [fakeRepo, shellRepo, cwd, home]) expect(injected(dir, true), dir).toEqual([]);
    expect(injected('/tmp', false)).toEqual([]);
    for (const repo of [fakeRepo, shellRepo]) {
      expect((await runGit(['log', '--all', '--name-only', '--format='], { cwd: repo })).stdout).not.toContain(marker);
    }
  });

  it('status, show, diff, logs and cancel work from another terminal while a task runs', async () => {
    const repo = await makeRepo();
    const run = spawnTracked(['run', 'slow work', '--repo', repo, '--agent', 'fake', '--agent', 'fake',
      '--option', 'behaviour=slow', '--option', 'delayMs=4000']);
    const id = await waitFor('the task id on the first line', async () => {
      const found = /^Task ([0-9a-f-]{36}): /m.exec(run.output())?.[1];
      if (found) return found;
      throw new Error(`output so far: ${run.output().slice(-500)}`);
    }, 20_000);
    const short = id.slice(0, 8);
    const agentPids = await waitFor('both agents running', async () => {
      const task = await taskStatus(id, env);
      const pids = task.clones.filter((c) => c.status === 'running' && c.pid !== null).map((c) => c.pid!);
      if (pids.length === 2) return pids;
      throw new Error(`task ${task.status}, clones ${task.clones.map((c) => `${c.name}=${c.status}/pid ${c.pid}`).join(' ')}`);
    }, 20_000);

    const list = await kageCli(['status'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n').find((l) => l.startsWith(short))).toMatch(/^\S+\s+running\s/);

    const show = await kageCli(['show', short], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`Task ${id}  running`);
    expect(show.stdout).toMatch(/^fake-2\s+fake\s/m);

    const logs = await kageCli(['logs', id], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/ (fake|fake-2)\s+clone_started /);

    const follow = spawnTracked(['logs', id, '--follow']);
    await waitFor('the follower to print the history', async () => {
      if (follow.output().includes('clone_started')) return true;
      throw new Error(`follower output: ${follow.output().slice(-500)}`);
    }, 20_000);

    const cancel = await kageCli(['cancel', id], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`Task ${id} cancelled (2 clone(s))`);

    const runCode = await waitForExit(run, 'kage run');
    expect(runCode).not.toBe(0);
    expect(run.output()).toContain(`Task ${id}  cancelled`);
    expect(await waitForExit(follow, 'kage logs --follow')).toBe(0);
    expect(follow.output()).toMatch(/ task\s+task_cancelled /);

    const after = await taskStatus(id, env);
    expect(after.status).toBe('cancelled');
    expect(after.clones.map((c) => [c.name, c.status]).sort()).toEqual([['fake', 'cancelled'], ['fake-2', 'cancelled']]);
    expect(after.clones.every((c) => c.pid === null)).toBe(true);
    expect(agentPids.filter((pid) => isProcessGroupAlive(pid))).toEqual([]);
    expect(worktreeDirs(home)).toEqual([]);

    const again = await kageCli(['cancel', id], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('[KAGE_TASK_FINISHED]');
  });

  it('kage diff shows what a finished clone changed', async () => {
    const repo = await makeRepo();
    const result = await kageCli(['run', 'write a file', '--repo', repo, '--agent', 'fake', '--option', 'behaviour=ok',
      '--option', 'file=notes/hello.txt', '--option', 'content=diffable line', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const task = parseJson<TaskJson>(result, 'kage run --json');

    const diff = await kageCli(['diff', task.id, 'fake'], env);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('diff --git a/notes/hello.txt b/notes/hello.txt');
    expect(diff.stdout).toContain('+diffable line');

    const stat = await kageCli(['diff', task.id.slice(0, 8), 'fake', '--stat'], env);
    expect(stat.stdout).toMatch(/notes\/hello\.txt \| 1 \+/);

    const missing = await kageCli(['diff', task.id, 'nope'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('[KAGE_CLONE_NOT_FOUND]');
  });

  it('kage clean deletes finished tasks\' clone branches and agent homes but keeps merge results', async () => {
    const repo = await makeRepo({ 'README.md': 'original\n' });
    // A dirty checkout keeps the merge on kage/<id>/merged, which clean must keep.
    writeFileSync(join(repo, 'README.md'), 'local edit\n');
    const run = await kageCli(['run', 'two clones', '--repo', repo, '--agent', 'fake', '--agent', 'fake', '--option', 'behaviour=ok', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const task = parseJson<TaskJson>(run, 'kage run --json');
    const short = task.id.slice(0, 8);
    const branches = async () => (await runGit(['branch', '--list', `kage/${short}/*`, '--format=%(refname:short)'], { cwd: repo })).stdout.split('\n').filter(Boolean).sort();
    expect(await branches()).toEqual([`kage/${short}/fake`, `kage/${short}/fake-2`, `kage/${short}/merged`]);
    const homes = task.clones.map((c) => join(env.KAGE_HOME!, 'homes', c.id));
    for (const h of homes) expect(existsSync(h)).toBe(true);

    const dry = await kageCli(['clean', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would delete kage/${short}/fake in ${repo}`);
    expect(await branches()).toHaveLength(3);

    const clean = await kageCli(['clean'], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(await branches()).toEqual([`kage/${short}/merged`]);
    for (const h of homes) expect(existsSync(h)).toBe(false);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('local edit\n');
  });

  it('manual strategy merges nothing until kage merge', async () => {
    const repo = await makeRepo();
    const before = (await runGit(['rev-parse', 'main'], { cwd: repo })).stdout.trim();
    const run = await kageCli(['run', 'write a file', '--repo', repo, '--agent', 'fake', '--option', 'behaviour=ok', '--merge', 'manual', '--json'], env);
    expect(run.code, run.stderr).toBe(3);
    const task = parseJson<TaskJson>(run, 'kage run --json');
    expect(task).toMatchObject({ status: 'needs_review', mergeStatus: 'manual', bestClone: 'fake' });
    expect((await runGit(['rev-parse', 'main'], { cwd: repo })).stdout.trim()).toBe(before);
    expect(await showFile(repo, 'main', 'kage-fake.txt')).toBeNull();

    const merge = await kageCli(['merge', task.id.slice(0, 8), '--clone', 'fake'], env);
    expect(merge.code, merge.stderr).toBe(0);
    expect(merge.stdout).toMatch(/^Merged fake into main: commit [0-9a-f]{12}/);
    expect(await showFile(repo, 'main', 'kage-fake.txt')).toBe('hello from fake\n');
    expect(readFileSync(join(repo, 'kage-fake.txt'), 'utf8')).toBe('hello from fake\n');
    expect((await taskStatus(task.id, env)).mergeStatus).toBe('merged');
  });
});
