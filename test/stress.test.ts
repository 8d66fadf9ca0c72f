// `kage stress` against a real server over loopback: the pid it measures is the server's, the tasks all
// end, and v1's scenario (100 `ollama` tasks with no Ollama running) ends fast with a clear clone error and
// no memory growth. Also `GET /api/v1/system`, which the stress tool reads.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalProcess } from '../src/cli/stress/proc.js';
import { startServer, type KageServer } from '../src/main/server.js';
import { freshDatabase, kageCli, makeRepo, tempDir, testConfig, waitFor } from './support/harness.js';

const KEY = 'stress-key-0123456789';

/** A loopback port nothing listens on: bound once to learn it, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const address = probe.address();
  await new Promise<void>((done) => probe.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function serve(env: Record<string, string> = {}): Promise<KageServer> {
  const repo = await makeRepo({ 'README.md': '# stress\n' });
  return startServer(testConfig({
    databaseUrl: await freshDatabase(),
    env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: repo, ...env },
  }));
}

const WARM_UP_TASKS = 30;

/** Submits `count` tasks like the stress tool's and waits until all are terminal. */
async function warmUp(server: KageServer, agent: string, count: number): Promise<void> {
  const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
  for (let i = 1; i <= count; i++) {
    const res = await fetch(`${server.url}/api/v1/tasks`, {
      method: 'POST', headers, body: JSON.stringify({ description: `Warm-up task #${i}`, cli_assignments: [{ cli_name: agent, timeout: 60 }] }),
    });
    expect(res.status).toBe(201);
  }
  await waitFor('the warm-up tasks to end', async () => {
    const counts = await server.kage.ctx.store.countTasksByStatus();
    return (counts.pending ?? 0) + (counts.running ?? 0) + (counts.judging ?? 0) + (counts.merging ?? 0) === 0 ? true : undefined;
  }, 60_000);
}

async function stress(server: KageServer, args: string[]) {
  const started = Date.now();
  const run = await kageCli(['stress', '--url', server.url, '--key', KEY, '--json', ...args], {}, { timeoutMs: 170_000 });
  let report: any = null;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`kage stress printed no JSON (exit ${run.code}): ${run.stdout.slice(-1500)} ${run.stderr.slice(-1500)}`);
  }
  return { ...run, report, seconds: (Date.now() - started) / 1000 };
}

describe('the server pid check', () => {
  it('accepts a local pid that started when the server says, and refuses another process or a missing pid', () => {
    const startedAtMs = Date.now() - process.uptime() * 1000;
    expect(isLocalProcess(process.pid, startedAtMs).local).toBe(true);
    expect(isLocalProcess(process.pid, startedAtMs - 3_600_000)).toMatchObject({ local: false, reason: expect.stringMatching(/another process/) });
    expect(isLocalProcess(2 ** 30, startedAtMs)).toMatchObject({ local: false, reason: expect.stringMatching(/no process/) });
  });
});

describe('kage stress with the fake agent', () => {
  let server: KageServer;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server?.close({ graceMs: 0 });
  });

  it('describes the server process on GET /api/v1/system, with a key only', async () => {
    expect((await fetch(`${server.url}/api/v1/system`)).status).toBe(401);
    const res = await fetch(`${server.url}/api/v1/system`, { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ pid: process.pid, kage_home: server.kage.config.home, worktrees_on_disk: 0, running_clones: 0 });
    expect(body.rss_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(body.db_connections).toBeGreaterThan(0);
    expect(body.queue_depth).toBe(0);
    expect(Math.abs(Date.parse(body.started_at) - (Date.now() - process.uptime() * 1000))).toBeLessThan(2000);
  });

  it('measures the server process it was told about and waits until every task is terminal', async () => {
    const { code, report, stderr } = await stress(server, ['--tasks', '20', '--agent', 'fake', '--settle-seconds', '1']);
    expect(code, stderr).toBe(0);
    // startServer runs in this process, so the server's pid is this test's own.
    expect(report.server).toMatchObject({ pid: process.pid, pid_source: 'GET /api/v1/system', local: true });
    expect(report.submissions).toMatchObject({ requested: 20, succeeded: 20, failed: 0 });
    expect(report.tasks).toMatchObject({ terminal: 20, not_terminal: 0 });
    expect(Object.values(report.tasks.by_status as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(20);
    expect(report.rss.source).toBe('proc');
    for (const key of ['start_bytes', 'peak_bytes', 'end_bytes']) expect(report.rss[key]).toBeGreaterThan(10 * 1024 * 1024);
    expect(report.rss.peak_bytes).toBeGreaterThanOrEqual(report.rss.end_bytes);
    expect(report.open_fds.start).toBeGreaterThan(0);
    expect(report.worktrees_on_disk.end).toBe(0);
    expect(report.db_connections.end).toBeGreaterThan(0);
    // One at the start, one after 20 submissions, at least one while waiting, six while settling.
    const phases = (report.samples as { phase: string }[]).map((s) => s.phase);
    expect(phases[0]).toBe('start');
    expect(phases.filter((p) => p === 'submit')).toHaveLength(1);
    expect(phases.filter((p) => p === 'settle')).toHaveLength(6);
    expect(report.ok).toBe(true);
  });

  it('takes the key from KAGE_HOME/api-key when none is given, and says so when there is none', async () => {
    const home = tempDir('stress-home');
    const args = ['stress', '--url', server.url, '--tasks', '1', '--agent', 'fake', '--settle-seconds', '0', '--json'];
    const missing = await kageCli(args, { KAGE_HOME: home });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`No API key: pass --key, set KAGE_API_KEYS, or run on the server's machine (${join(home, 'api-key')} is not readable)`);
    writeFileSync(join(home, 'api-key'), `${KEY}\n`, { mode: 0o600 });
    const run = await kageCli(args, { KAGE_HOME: home });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).submissions.succeeded).toBe(1);
  });

  it('fails clearly with exit code 2 when nothing listens at the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await kageCli(['stress', '--url', url, '--key', KEY, '--tasks', '1'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot reach the kage server at ${url}`);
    expect(run.stdout).toBe('');
  });
});

describe('the v1 memory stress test: 100 ollama tasks with no Ollama running', () => {
  let server: KageServer;
  let ollamaUrl: string;
  beforeAll(async () => {
    ollamaUrl = `http://127.0.0.1:${await closedPort()}`;
    server = await serve({ OLLAMA_HOST: ollamaUrl });
    // A process's first tasks grow its heap and compiled code whatever the code does (about 30 MB for a
    // fresh server's first 100); a leak is growth that goes on after that, so the measured run starts warm
    // and does not depend on the tests before it.
    await warmUp(server, 'ollama', WARM_UP_TASKS);
  });
  afterAll(async () => {
    await server?.close({ graceMs: 0 });
  });

  it('ends every task within seconds, each clone failing fast with a clear error, and RSS grows under 20 MB', async () => {
    const { code, report, stderr, seconds } = await stress(server, ['--tasks', '100', '--agent', 'ollama', '--settle-seconds', '5']);
    expect(code, `${stderr}\n${JSON.stringify(report?.problems)}`).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(report.server.pid).toBe(process.pid);
    expect(report.submissions).toMatchObject({ succeeded: 100, failed: 0 });
    expect(report.tasks).toMatchObject({ terminal: 100, not_terminal: 0, by_status: { failed: 100 } });
    for (const e of report.tasks.clone_errors) expect(e.message).toMatch(/^cannot reach Ollama at /);

    // Every clone, read from the store rather than the report's top three messages.
    const tasks = (await server.kage.ctx.store.listTasks({ limit: 200, offset: 0 })).tasks
      .filter((t) => t.description.startsWith('Stress test task #'));
    expect(tasks).toHaveLength(100);
    const clones = [...(await server.kage.ctx.store.getClonesOfTasks(tasks.map((t) => t.id))).values()].flat();
    expect(clones).toHaveLength(100);
    for (const clone of clones) {
      expect(clone.status).toBe('failed');
      expect(clone.error).toMatch(/^cannot reach Ollama at /);
    }

    expect(report.rss.growth_mb).toBeLessThan(20);
    expect(report.rss.verdict).toBe('fine');
    expect(report.worktrees_on_disk.end).toBe(0);
  }, 180_000);
});
