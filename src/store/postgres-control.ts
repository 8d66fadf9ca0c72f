// The server's lifecycle steps, each one initdb or pg_ctl run: initialise, probe, start (daemonized), stop.
import { randomBytes } from 'node:crypto';
import { appendFile, chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { KageError } from '../domain/index.js';
import { describeFailure, runCommand, type CommandResult, type RunAs } from './pg-command.js';
import {
  freePort,
  isPortFree,
  logTail,
  newPassword,
  writeServerConfig,
  type PgLayout,
  type ServerConfig,
} from './embedded-postgres-files.js';

export const DB_USER = 'kage';

/** Appended to postgresql.conf after initdb. Unix sockets are off: their path limit (107 bytes) breaks deep homes. */
const SERVER_SETTINGS = `
# kage: loopback TCP only; durable; sized for a developer machine
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 64MB
fsync = on
`;

const START_WAIT_S = 60;

export interface Control {
  layout: PgLayout;
  binDir: string;
  runAs: RunAs | null;
  log: (msg: string) => void;
}

/** Where the server stands: `stopped` no postmaster; `running` a postmaster that answers; `unresponsive` one that does not. */
export type ServerState = 'stopped' | 'running' | 'unresponsive';

function pgCtl(ctl: Control, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  // cwd inside pg/: a root caller's cwd (/root) is unreadable to the server's user and pg_ctl warns about it.
  return runCommand(join(ctl.binDir, 'pg_ctl'), args, { runAs: ctl.runAs, cwd: ctl.layout.pgDir, timeoutMs });
}

/** Creates the data directory with a random password for user `kage`, then records it in server.json. */
export async function initialise(ctl: Control): Promise<ServerConfig> {
  const { layout, runAs } = ctl;
  // A data directory without server.json is left by an initdb that was killed; initdb refuses a non-empty one.
  await rm(layout.dataDir, { recursive: true, force: true });
  const password = newPassword();
  const pwfile = join(layout.pgDir, `initdb-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  let result: CommandResult;
  try {
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    ctl.log(`initialising PostgreSQL data directory ${layout.dataDir}`);
    result = await runCommand(
      join(ctl.binDir, 'initdb'),
      ['-D', layout.dataDir, '-U', DB_USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { runAs, cwd: layout.pgDir, timeoutMs: 300_000 },
    );
  } finally {
    await rm(pwfile, { force: true });
  }
  if (result.exitCode !== 0) {
    throw new KageError('KAGE_STORE_UNAVAILABLE', `initdb for ${layout.dataDir} ${describeFailure(result)}`);
  }
  ctl.log(`initdb finished in ${result.durationMs} ms`);
  await appendFile(join(layout.dataDir, 'postgresql.conf'), SERVER_SETTINGS);
  const config: ServerConfig = { port: await freePort(), user: DB_USER, password, binDir: ctl.binDir };
  await writeServerConfig(layout, config);
  return config;
}

/** `pg_ctl status` alone trusts a postmaster.pid; the connection proves the server actually serves. */
export async function serverState(ctl: Control, config: ServerConfig): Promise<ServerState> {
  const status = await pgCtl(ctl, ['status', '-D', ctl.layout.dataDir]);
  if (status.exitCode !== 0) return 'stopped';
  return (await canConnect(config, 'postgres')) ? 'running' : 'unresponsive';
}

/**
 * Starts a daemonized postmaster (it outlives this process). The stored port may have been taken since
 * initdb; then a new free port is chosen, stored, and the start retried once.
 */
export async function start(ctl: Control, config: ServerConfig): Promise<ServerConfig> {
  let current = (await isPortFree(config.port)) ? config : await movePort(ctl, config);
  let result = await startOn(ctl, current.port);
  if (result.exitCode !== 0 && !(await isPortFree(current.port))) {
    current = await movePort(ctl, current);
    result = await startOn(ctl, current.port);
  }
  if (result.exitCode !== 0) {
    throw new KageError(
      'KAGE_STORE_UNAVAILABLE',
      `PostgreSQL did not start on 127.0.0.1:${current.port} (pg_ctl ${describeFailure(result)}). ` +
        `Last lines of ${ctl.layout.logFile}:\n${await logTail(ctl.layout)}`,
    );
  }
  ctl.log(`started PostgreSQL on 127.0.0.1:${current.port} in ${result.durationMs} ms (data ${ctl.layout.dataDir})`);
  return current;
}

function startOn(ctl: Control, port: number): Promise<CommandResult> {
  // -l sends the postmaster's output to the log file, so it holds none of our pipes open after pg_ctl exits.
  const args = ['start', '-D', ctl.layout.dataDir, '-w', '-t', String(START_WAIT_S), '-l', ctl.layout.logFile, '-o', `-p ${port}`];
  return pgCtl(ctl, args, (START_WAIT_S + 30) * 1000);
}

async function movePort(ctl: Control, config: ServerConfig): Promise<ServerConfig> {
  const moved = { ...config, port: await freePort() };
  ctl.log(`port ${config.port} is taken; PostgreSQL moves to port ${moved.port}`);
  await writeServerConfig(ctl.layout, moved);
  return moved;
}

/** Fast shutdown: open sessions are rolled back, nothing committed is lost. */
export async function stop(ctl: Control): Promise<void> {
  const result = await pgCtl(ctl, ['stop', '-D', ctl.layout.dataDir, '-m', 'fast', '-w', '-t', '60'], 90_000);
  if (result.exitCode !== 0) {
    throw new KageError('KAGE_STORE_UNAVAILABLE', `PostgreSQL in ${ctl.layout.dataDir} did not stop (pg_ctl ${describeFailure(result)})`);
  }
  ctl.log(`stopped PostgreSQL in ${ctl.layout.dataDir}`);
}

/** Creates database `database` when missing; runs under the pg/ lock, so no other kage races it. */
export async function ensureDatabase(config: ServerConfig, database: string): Promise<void> {
  const client = newClient(config, 'postgres');
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(database)}`);
  } catch (err) {
    throw new KageError('KAGE_STORE_UNAVAILABLE', `Could not create database ${database} on 127.0.0.1:${config.port}: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}

export async function canConnect(config: ServerConfig, database: string): Promise<boolean> {
  const client = newClient(config, database);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function newClient(config: ServerConfig, database: string): pg.Client {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: config.port,
    user: config.user,
    password: config.password,
    database,
    connectionTimeoutMillis: 5_000,
  });
  // A server going away mid-probe emits 'error' on the client; without a listener that would crash the process.
  client.on('error', () => {});
  return client;
}
