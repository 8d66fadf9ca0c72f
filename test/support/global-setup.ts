// Starts one PostgreSQL server for the whole test run (the "any server via DATABASE_URL" path) and builds
// the package once, so tests can spawn the real `kage` CLI and the real fake agent.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { CLI_PINS } from '../../src/agents/cli-pins.js';

let home: string | null = null;
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export async function setup(project: TestProject): Promise<void> {
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  project.provide('agentsDir', installAgentClis());
  home = mkdtempSync(join(tmpdir(), 'kage-test-pg-'));
  chmodSync(home, 0o755);
  const info = await ensureEmbeddedPostgres({ home, binDir: process.env.KAGE_TEST_PG_BINDIR ?? null });
  project.provide('databaseUrl', info.url);
  project.provide('serverHome', home);
}

/**
 * The genuine agent CLIs at their pinned versions, installed once per machine (KAGE_AGENTS_DIR, default the
 * user's cache) and reused; their versions go to the test output. A CLI that cannot run fails the run here.
 */
function installAgentClis(): string {
  const agentsDir = process.env.KAGE_AGENTS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kage', 'agents');
  const scratchHome = mkdtempSync(join(tmpdir(), 'kage-test-doctor-'));
  const env = { ...process.env, KAGE_AGENTS_DIR: agentsDir, KAGE_HOME: scratchHome };
  try {
    execFileSync(process.execPath, [CLI, 'agents', 'install'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const report = JSON.parse(execFileSync(process.execPath, [CLI, 'doctor', '--json'], { env, encoding: 'utf8' })) as {
      agents: { id: string; usable: boolean; version: string | null; binary: string | null; problems: string[] }[];
    };
    const broken: string[] = [];
    for (const id of Object.keys(CLI_PINS)) {
      const agent = report.agents.find((a) => a.id === id);
      if (agent === undefined) broken.push(`${id}: no such adapter`);
      else if (!agent.usable) broken.push(`${id}: ${agent.problems.join('; ')}`);
      else process.stdout.write(`agent CLI ${id} ${agent.version} (${agent.binary})\n`);
    }
    if (broken.length > 0) throw new Error(`Pinned agent CLIs cannot run here:\n${broken.join('\n')}`);
    return agentsDir;
  } finally {
    rmSync(scratchHome, { recursive: true, force: true });
  }
}

export async function teardown(): Promise<void> {
  if (!home) return;
  await stopEmbeddedPostgres({ home });
  rmSync(home, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    serverHome: string;
    /** KAGE_AGENTS_DIR with the pinned agent CLIs installed. */
    agentsDir: string;
  }
}
