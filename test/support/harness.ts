// Test harness: a fresh database per test file on the shared server, temp KAGE_HOMEs, real git repos,
// the real `kage` CLI as a child process, and waiting for states with a timeout (no sleeps).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type KageConfig } from '../../src/config/config.js';
import { createKage, type Kage } from '../../src/main/app.js';
import { COMMIT_CONFIG, runGit } from '../../src/workspace/git.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kage-${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** A new, empty database on the test server; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const base = inject('databaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestKageOptions {
  databaseUrl: string;
  home?: string;
  env?: Record<string, string>;
}

export function testConfig(opts: TestKageOptions): KageConfig {
  const home = opts.home ?? tempDir('home');
  return loadConfig({}, {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KAGE_HOME: home,
    DATABASE_URL: opts.databaseUrl,
    KAGE_RETRY_DELAY: '0.2',
    KAGE_KILL_GRACE: '1',
    KAGE_LOG_LEVEL: 'silent',
    KAGE_AGENTS_DIR: inject('agentsDir'),
    ...opts.env,
  });
}

export async function openKage(opts: TestKageOptions): Promise<Kage> {
  return createKage(testConfig(opts));
}

/** A git repo with one commit on `main`. */
export async function makeRepo(files: Record<string, string> = { 'README.md': '# test\n' }): Promise<string> {
  const dir = tempDir('repo');
  await runGit(['init', '-q', '-b', 'main'], { cwd: dir });
  await writeFiles(dir, files);
  await runGit(['add', '-A'], { cwd: dir });
  await runGit([...COMMIT_CONFIG, 'commit', '-q', '-m', 'initial'], { cwd: dir });
  return dir;
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** Polls `probe` until it returns a value other than undefined; fails with the last value seen. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'undefined';
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last seen: ${last instanceof Error ? last.message : String(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `kage` CLI to completion; `input`, when given, is written to its stdin, which is then closed. */
export function kageCli(args: string[], env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = execFile(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KAGE_LOG_LEVEL: 'warn', ...env },
      timeout: opts.timeoutMs ?? 50_000,
      maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) ?? 1 : 0;
      resolveRun({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Starts the built `kage` CLI in the background. */
export function spawnKage(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KAGE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return Object.assign(child, { output: () => output });
}

/** Waits for a background process to exit; fails with its output so far when it does not. */
export async function waitForExit(child: ChildProcess & { output: () => string }, what: string, timeoutMs = 30_000): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) {
    await waitFor(`${what} to exit`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) return true;
      throw new Error(`still running; output: ${child.output().slice(-800)}`);
    }, timeoutMs);
  }
  return child.exitCode;
}

/** Clone worktree directories under KAGE_HOME/worktrees (dot-directories hold locks, not worktrees). */
export function worktreeDirs(home: string): string[] {
  const root = join(home, 'worktrees');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !relative(root, p).split(sep).some((part) => part.startsWith('.')));
}
