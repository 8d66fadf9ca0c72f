// Integration tests: a real embedded PostgreSQL started from real kage processes in temp homes.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  embeddedPostgresStatus,
  ensureEmbeddedPostgres,
  stopEmbeddedPostgres,
  type EmbeddedPostgresInfo,
} from './embedded-postgres.js';

const BUILT_MODULE = fileURLToPath(new URL('../../dist/store/embedded-postgres.js', import.meta.url));
const isRoot = process.getuid?.() === 0;

let root: string;
const homes: string[] = [];

function newHome(name: string): string {
  const home = join(root, name);
  homes.push(home);
  return home;
}

async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('select 1 as one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(script: string, home: string, timeoutMs: number, user?: { uid: number; gid: number }): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, home], { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child for ${home} did not exit within ${timeoutMs} ms; stderr so far:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Postmasters whose command line names `dataDir` (Linux /proc); a second one would mean two servers. */
function postmastersFor(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const dashD = argv.indexOf('-D');
    if (argv[0]?.endsWith('/postgres') && dashD >= 0 && argv[dashD + 1] === dataDir) pids.push(Number(entry));
  }
  return pids;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kage-embedded-pg-'));
  // mkdtemp makes 0700 directories; the server's own user (when running as root) must traverse into homes.
  await chmod(root, 0o755);
});

afterAll(async () => {
  for (const home of homes) {
    const status = await embeddedPostgresStatus({ home });
    await stopEmbeddedPostgres({ home });
    // A relocated pg directory lives outside the temp root.
    if (!status.dataDir.startsWith(root)) await rm(dirname(status.dataDir), { recursive: true, force: true });
  }
  await rm(root, { recursive: true, force: true });
});

describe('embedded postgres', () => {
  it('initialises, starts and serves queries', async () => {
    const home = newHome('single');
    const first = await ensureEmbeddedPostgres({ home });

    expect(first.startedByUs).toBe(true);
    expect(first.url).toMatch(new RegExp(`^postgres://kage:[^@]+@127\\.0\\.0\\.1:${first.port}/kage$`));
    expect(await selectOne(first.url)).toBe(1);
    expect(statSync(join(home, 'pg', 'server.json')).mode & 0o777).toBe(0o600);

    const second = await ensureEmbeddedPostgres({ home });
    expect(second.port).toBe(first.port);
    expect(second.url).toBe(first.url);
    expect(second.startedByUs).toBe(false);
  });

  it('two concurrent kage processes share one embedded server', async () => {
    expect(existsSync(BUILT_MODULE), `${BUILT_MODULE} is missing; run npx tsc -p tsconfig.json first`).toBe(true);
    const home = newHome('shared');
    const script = join(root, 'ensure.mjs');
    await writeFile(
      script,
      `import { ensureEmbeddedPostgres } from ${JSON.stringify(BUILT_MODULE)};\n` +
        `const info = await ensureEmbeddedPostgres({ home: process.argv[2] });\n` +
        `process.stdout.write(JSON.stringify(info));\n`,
    );

    const runs = await Promise.all([runChild(script, home, 90_000), runChild(script, home, 90_000)]);

    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const infos = runs.map((run) => JSON.parse(run.stdout) as EmbeddedPostgresInfo);
    expect(infos[0]!.port).toBe(infos[1]!.port);
    expect(infos.filter((info) => info.startedByUs)).toHaveLength(1);
    expect(postmastersFor(infos[0]!.dataDir)).toHaveLength(1);
    const status = await embeddedPostgresStatus({ home });
    expect(status).toMatchObject({ initialised: true, running: true, port: infos[0]!.port });
    // Both children have exited; the daemonized server they started still answers.
    expect(await selectOne(infos[0]!.url)).toBe(1);
  });

  it('stop then ensure starts it again', async () => {
    const home = newHome('restart');
    expect(await embeddedPostgresStatus({ home })).toMatchObject({ initialised: false, running: false, port: null });
    const first = await ensureEmbeddedPostgres({ home });
    expect(await embeddedPostgresStatus({ home })).toMatchObject({ initialised: true, running: true, port: first.port });

    expect(await stopEmbeddedPostgres({ home })).toBe(true);
    expect(await embeddedPostgresStatus({ home })).toMatchObject({ initialised: true, running: false, port: first.port });
    expect(postmastersFor(first.dataDir)).toHaveLength(0);
    expect(await stopEmbeddedPostgres({ home })).toBe(false);

    const again = await ensureEmbeddedPostgres({ home });
    expect(again.startedByUs).toBe(true);
    expect(again.url).toBe(first.url);
    expect(await selectOne(again.url)).toBe(1);
    expect((await embeddedPostgresStatus({ home })).running).toBe(true);
  });

  it.runIf(isRoot)('moves the data out of a home the server user cannot reach and records where', async () => {
    const locked = await mkdtemp(join(root, 'private-'));
    expect(statSync(locked).mode & 0o777).toBe(0o700);
    const home = join(locked, 'home');
    homes.push(home);
    const messages: string[] = [];

    const info = await ensureEmbeddedPostgres({ home, log: (msg) => messages.push(msg) });

    expect(info.dataDir).toMatch(/^\/var\/lib\/kage\/pg-[0-9a-f]{16}\/data$/);
    expect((await readFile(join(home, 'pg-location'), 'utf8')).trim()).toBe(dirname(info.dataDir));
    expect(messages.some((msg) => msg.includes(dirname(info.dataDir)))).toBe(true);
    expect(await selectOne(info.url)).toBe(1);
    expect((await ensureEmbeddedPostgres({ home })).port).toBe(info.port);
  });
});

describe.runIf(isRoot)('as a normal user', () => {
  it('initialises and runs the server as an unprivileged user in that user\'s own home', async () => {
    const nobody = { uid: 65534, gid: 65534 };
    const home = newHome('normal-user');
    const { mkdir, chown } = await import('node:fs/promises');
    await mkdir(home, { recursive: true });
    await chown(home, nobody.uid, nobody.gid);
    const script = join(root, 'as-user.mjs');
    await writeFile(script,
      `import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from ${JSON.stringify(BUILT_MODULE)};\n` +
      `import pg from ${JSON.stringify(fileURLToPath(new URL('../../node_modules/pg/lib/index.js', import.meta.url)))};\n` +
      'const home = process.argv[2];\n' +
      'const info = await ensureEmbeddedPostgres({ home });\n' +
      'const client = new pg.Client({ connectionString: info.url }); await client.connect();\n' +
      'const user = (await client.query("select current_user as u")).rows[0].u; await client.end();\n' +
      'const stopped = await stopEmbeddedPostgres({ home });\n' +
      'console.log(JSON.stringify({ uid: process.getuid(), dataDir: info.dataDir, user, stopped }));\n');
    await chmod(script, 0o644);
    const run = await runChild(script, home, 60_000, nobody);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as { uid: number; dataDir: string; user: string; stopped: boolean };
    expect(out.uid).toBe(65534);
    expect(out.user).toBe('kage');
    expect(out.stopped).toBe(true);
    expect(out.dataDir.startsWith(home)).toBe(true);
    expect(statSync(out.dataDir).uid).toBe(65534);
  });
});
