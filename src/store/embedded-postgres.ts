// Kage's own PostgreSQL under KAGE_HOME: initialised once, run as a daemon that outlives and is shared by kage processes.
import { readFileSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { KageError } from '../domain/index.js';
import type { RunAs } from './pg-command.js';
import { searchPostgresBinaries } from './postgres-binaries.js';
import { isRoot, ownerOf, serviceUser } from './postgres-os-user.js';
import {
  choosePgDir,
  connectionUrl,
  ensureDir,
  existingLayout,
  isInitialised,
  layoutOf,
  readServerConfig,
  writeServerConfig,
  type PgLayout,
  type ServerConfig,
} from './embedded-postgres-files.js';
import { canConnect, ensureDatabase, initialise, serverState, start, stop, type Control } from './postgres-control.js';

export { findPostgresBinDir } from './postgres-binaries.js';

export interface EmbeddedPostgresOptions {
  /** KAGE_HOME; the server's files live in `pg/` under it (or where `pg-location` says). */
  home: string;
  /** Directory holding initdb, pg_ctl and postgres; tried before the bundled and system binaries. */
  binDir?: string | null;
  log?: (msg: string) => void;
}

export interface EmbeddedPostgresInfo {
  /** postgres://kage:<password>@127.0.0.1:<port>/kage */
  url: string;
  dataDir: string;
  port: number;
  binDir: string;
  /** True when this call started the server; false when it was already running. */
  startedByUs: boolean;
}

const DATABASE = 'kage';

export async function ensureEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresInfo> {
  const log = opts.log ?? (() => {});
  const home = resolve(opts.home);
  await ensureDir(home, 0o755);
  const service = await serviceUser(log);
  const layout = layoutOf(await choosePgDir(home, service, log));
  const runAs = service ? ownerOrService(layout, service) : null;
  await preparePgDir(layout, runAs);

  // Fast path without the lock: a server answering with our random password can only be ours.
  const known = await readServerConfig(layout);
  if (known && isInitialised(layout) && (await canConnect(known, DATABASE))) return infoOf(layout, known, false);

  const release = await lockPgDir(layout, log);
  try {
    const ctl = controlFor(layout, opts.binDir ?? null, await readServerConfig(layout), runAs, log);
    let config = isInitialised(layout) ? await recordBinDir(layout, ctl.binDir) : await initialise(ctl);
    const state = await serverState(ctl, config);
    if (state === 'unresponsive') {
      log(`PostgreSQL in ${layout.dataDir} has a postmaster that does not answer; restarting it`);
      await stop(ctl);
    }
    const startedByUs = state !== 'running';
    if (startedByUs) config = await start(ctl, config);
    await ensureDatabase(config, DATABASE);
    return infoOf(layout, config, startedByUs);
  } finally {
    await release().catch(() => {});
  }
}

export async function stopEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<boolean> {
  const log = opts.log ?? (() => {});
  const layout = existingLayout(opts.home);
  const config = await readServerConfig(layout);
  if (!config || !isInitialised(layout)) return false;
  const release = await lockPgDir(layout, log);
  try {
    const ctl = controlFor(layout, opts.binDir ?? null, config, runAsForExisting(layout), log);
    if ((await serverState(ctl, config)) === 'stopped') return false;
    await stop(ctl);
    return true;
  } finally {
    await release().catch(() => {});
  }
}

export async function embeddedPostgresStatus(opts: EmbeddedPostgresOptions): Promise<{
  initialised: boolean;
  running: boolean;
  port: number | null;
  dataDir: string;
  binDir: string | null;
}> {
  const layout = existingLayout(opts.home);
  const config = await readServerConfig(layout);
  const initialised = isInitialised(layout);
  const runAs = runAsForExisting(layout);
  const found = searchPostgresBinaries({ override: opts.binDir ?? config?.binDir ?? null, runAs }).found;
  const base = { initialised, port: config?.port ?? null, dataDir: layout.dataDir, binDir: found?.binDir ?? null };
  if (!initialised || !config) return { ...base, running: false };
  const running = found
    ? (await serverState(controlFor(layout, found.binDir, config, runAs, () => {}), config)) === 'running'
    : await canConnect(config, 'postgres');
  return { ...base, running };
}

/** A data directory keeps the owner that initialised it: postgres refuses one owned by another user. */
function ownerOrService(layout: PgLayout, service: RunAs): RunAs {
  const owner = ownerOf(layout.dataDir);
  return owner && owner.uid !== 0 ? owner : service;
}

function runAsForExisting(layout: PgLayout): RunAs | null {
  return isRoot() ? ownerOf(layout.dataDir) : null;
}

async function preparePgDir(layout: PgLayout, runAs: RunAs | null): Promise<void> {
  // The parent first and world-traversable: a recursive mkdir would give /var/lib/kage the 0700 below.
  await ensureDir(dirname(layout.pgDir), 0o755);
  await ensureDir(layout.pgDir, 0o700);
  // The server's user writes server.log here and reads initdb's password file.
  if (runAs) await chown(layout.pgDir, runAs.uid, runAs.gid);
}

/**
 * Serialises "initdb if needed; start if not running" across kage processes. proper-lockfile refreshes
 * the lock's mtime while held, so a slow initdb is not mistaken for a dead holder.
 */
async function lockPgDir(layout: PgLayout, log: (msg: string) => void): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(layout.pgDir, {
      lockfilePath: layout.lockFile,
      stale: 30_000,
      retries: { retries: 100, minTimeout: 50, maxTimeout: 500 },
      onCompromised: (err) => log(`lost the lock on ${layout.lockFile}: ${err.message}`),
    });
  } catch (err) {
    throw new KageError('KAGE_STORE_UNAVAILABLE', `Could not lock ${layout.lockFile}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The binaries that will run this data directory: the explicit override, else the ones recorded at initdb,
 * else the search order. A data directory runs only under the major version that created it.
 */
function controlFor(layout: PgLayout, override: string | null, config: ServerConfig | null, runAs: RunAs | null, log: (msg: string) => void): Control {
  const { found, tried } = searchPostgresBinaries({ override: override ?? config?.binDir ?? null, runAs });
  if (!found) {
    const list = tried.map((c) => `${c.binDir} (${c.source}): ${c.problem}`).join('; ') || 'no candidate directories';
    throw new KageError('KAGE_STORE_UNAVAILABLE', `No working PostgreSQL binaries (initdb, pg_ctl, postgres) found. Tried: ${list}`);
  }
  const dataMajor = dataDirMajor(layout);
  if (dataMajor !== null && dataMajor !== found.major) {
    throw new KageError(
      'KAGE_STORE_UNAVAILABLE',
      `${layout.dataDir} was created by PostgreSQL ${dataMajor} but the binaries in ${found.binDir} are PostgreSQL ${found.major}; ` +
        `pass PostgreSQL ${dataMajor} binaries with binDir`,
    );
  }
  return { layout, binDir: found.binDir, runAs, log };
}

function dataDirMajor(layout: PgLayout): number | null {
  try {
    return Number(readFileSync(join(layout.dataDir, 'PG_VERSION'), 'utf8').trim());
  } catch {
    return null;
  }
}

/** Keeps server.json naming the binaries in use, so status and stop find the same ones. */
async function recordBinDir(layout: PgLayout, binDir: string): Promise<ServerConfig> {
  const config = (await readServerConfig(layout)) as ServerConfig;
  if (config.binDir === binDir) return config;
  const updated = { ...config, binDir };
  await writeServerConfig(layout, updated);
  return updated;
}

function infoOf(layout: PgLayout, config: ServerConfig, startedByUs: boolean): EmbeddedPostgresInfo {
  return { url: connectionUrl(config, DATABASE), dataDir: layout.dataDir, port: config.port, binDir: config.binDir, startedByUs };
}
