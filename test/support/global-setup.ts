// Starts one PostgreSQL server for the whole test run (the "any server via DATABASE_URL" path) and builds
// the package once, so tests can spawn the real `kage` CLI and the real fake agent.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/store/embedded-postgres.js';

let home: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  home = mkdtempSync(join(tmpdir(), 'kage-test-pg-'));
  chmodSync(home, 0o755);
  const info = await ensureEmbeddedPostgres({ home, binDir: process.env.KAGE_TEST_PG_BINDIR ?? null });
  project.provide('databaseUrl', info.url);
  project.provide('serverHome', home);
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
  }
}
