// Where the embedded server's files live (`pg/` under KAGE_HOME or its relocation) and what server.json holds.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { canTraverse } from './postgres-os-user.js';
import type { RunAs } from './pg-command.js';

/** Parent of relocated pg directories, for homes the server's user cannot reach (a home under /root). */
export const RELOCATION_ROOT = '/var/lib/kage';

export interface PgLayout {
  pgDir: string;
  dataDir: string;
  serverFile: string;
  logFile: string;
  lockFile: string;
}

/** What a later process needs to reach the server; written once by initdb's caller, mode 0600. */
export interface ServerConfig {
  port: number;
  user: string;
  password: string;
  /** The binaries that initialised the data directory; a data directory only runs under its major version. */
  binDir: string;
}

export function layoutOf(pgDir: string): PgLayout {
  return {
    pgDir,
    dataDir: join(pgDir, 'data'),
    serverFile: join(pgDir, 'server.json'),
    logFile: join(pgDir, 'server.log'),
    lockFile: join(pgDir, 'lock'),
  };
}

/** The pg directory already chosen for `home`, without deciding anything: for status and stop. */
export function existingLayout(home: string): PgLayout {
  const recorded = readPgLocation(home);
  return layoutOf(recorded ?? join(resolve(home), 'pg'));
}

/**
 * The pg directory for `home`. When the server's user cannot traverse down to `home`, the directory
 * moves to /var/lib/kage and `home/pg-location` records where, so every later process agrees.
 */
export async function choosePgDir(home: string, runAs: RunAs | null, log: (msg: string) => void): Promise<string> {
  const resolvedHome = resolve(home);
  const recorded = readPgLocation(resolvedHome);
  if (recorded) return recorded;
  if (!runAs || canTraverse(resolvedHome, runAs)) return join(resolvedHome, 'pg');
  const hash = createHash('sha256').update(resolvedHome).digest('hex').slice(0, 16);
  const pgDir = join(RELOCATION_ROOT, `pg-${hash}`);
  // Concurrent processes compute the same path, so racing writers write the same content.
  await writeFileAtomic(join(resolvedHome, 'pg-location'), `${pgDir}\n`, 0o644);
  log(`PostgreSQL data lives in ${pgDir}: user ${runAs.name} cannot reach ${resolvedHome} (recorded in ${join(resolvedHome, 'pg-location')})`);
  return pgDir;
}

function readPgLocation(home: string): string | null {
  try {
    const text = readFileSync(join(resolve(home), 'pg-location'), 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

export async function readServerConfig(layout: PgLayout): Promise<ServerConfig | null> {
  try {
    return JSON.parse(await readFile(layout.serverFile, 'utf8')) as ServerConfig;
  } catch {
    return null;
  }
}

export async function writeServerConfig(layout: PgLayout, config: ServerConfig): Promise<void> {
  await writeFileAtomic(layout.serverFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
}

/** True once initdb finished and server.json was written after it; anything less is a crashed init. */
export function isInitialised(layout: PgLayout): boolean {
  return existsSync(join(layout.dataDir, 'PG_VERSION')) && existsSync(layout.serverFile);
}

export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

export function connectionUrl(config: ServerConfig, database: string): string {
  return `postgres://${encodeURIComponent(config.user)}:${encodeURIComponent(config.password)}@127.0.0.1:${config.port}/${database}`;
}

/** A TCP port nothing listens on right now; the kernel picks it when binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => done(true)));
  });
}

/** The last lines of server.log, where postgres explains why it did not start. */
export async function logTail(layout: PgLayout, lines = 20): Promise<string> {
  try {
    return (await readFile(layout.logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server.log)';
  }
}

export async function ensureDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode });
  // The mode given to writeFile is filtered by the umask; chmod makes 0600 exact.
  await chmod(temp, mode);
  await rename(temp, path);
}
