// The master key of the secrets store: parsing it from KAGE_MASTER_KEY, or the generated key file
// KAGE_HOME/master.key (mode 0600), its fingerprint (key id), and the files of a rotation in progress.
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KageError } from '../domain/index.js';

export const KEY_BYTES = 32;
export const KEY_FILE = 'master.key';
/** The next key while `kage secrets rotate` runs; it becomes master.key once every row is sealed with it. */
export const PENDING_KEY_FILE = 'master.key.next';

export interface MasterKey {
  /** 32 bytes; never logged, never put in an error. */
  readonly bytes: Buffer;
  /** Fingerprint stored with each row: tells "wrong key" from "altered row" without revealing the key. */
  readonly id: string;
  /** Where it came from, for messages: `KAGE_MASTER_KEY`, `KAGE_MASTER_KEY_OLD` or a file path. */
  readonly source: string;
}

/** The keys one process can use: `current` seals new values; every key in `all` can open them. */
export interface MasterKeys {
  current: MasterKey | null;
  all: MasterKey[];
}

const KEY_ID_LABEL = 'kage secrets key id v1';

/** HMAC-SHA256 of a fixed label under the key, first 8 bytes in hex. */
export function keyId(bytes: Buffer): string {
  return createHmac('sha256', bytes).update(KEY_ID_LABEL).digest().subarray(0, 8).toString('hex');
}

export function masterKeyFrom(bytes: Buffer, source: string): MasterKey {
  if (bytes.length !== KEY_BYTES) throw new Error(`A master key has ${KEY_BYTES} bytes, got ${bytes.length}`);
  return Object.freeze({ bytes: Buffer.from(bytes), id: keyId(bytes), source });
}

export function generateMasterKey(source: string): MasterKey {
  return masterKeyFrom(randomBytes(KEY_BYTES), source);
}

/**
 * Parses 32 bytes given as 64 hex characters or as base64 / base64url (43 or 44 characters). The error
 * names `source` and the length it got, never the text: a near-miss key is still a secret.
 */
export function parseMasterKey(text: string, source: string): MasterKey {
  const raw = text.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(raw)) bytes = Buffer.from(raw, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(raw)) bytes = Buffer.from(raw, 'base64');
  else if (/^[A-Za-z0-9_-]{43}$/.test(raw)) bytes = Buffer.from(raw, 'base64url');
  if (bytes === null || bytes.length !== KEY_BYTES) {
    throw new KageError('KAGE_INVALID_CONFIG',
      `Expected \`${source}\` to be ${KEY_BYTES} bytes as 64 hex characters or 44 base64 characters, got ${raw.length} characters ` +
      '(make one with `openssl rand -base64 32`)', { field: source });
  }
  return masterKeyFrom(bytes, source);
}

/** Reads a key file, refusing one that group or others can read: they could then read every secret. */
export function readKeyFile(path: string): MasterKey {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KageError('KAGE_SECRET_KEY_FILE_UNSAFE',
      `The master key file ${path} has mode ${mode.toString(8).padStart(4, '0')}, readable by group or others; ` +
      `run \`chmod 600 ${path}\` (and consider rotating the key with \`kage secrets rotate\`)`, { field: path });
  }
  try {
    return parseMasterKey(readFileSync(path, 'utf8'), path);
  } catch (err) {
    throw new KageError('KAGE_SECRET_KEY_FILE_UNSAFE', `The master key file ${path} does not hold a key: ${(err as Error).message}`,
      { field: path, cause: err });
  }
}

/**
 * Reads `path`, or creates it with a new key when it does not exist. The key is written to a private
 * temporary file and hard-linked into place, which fails if another process created the file first: two
 * processes starting together then both use the winner's key instead of each sealing with its own.
 */
export function readOrCreateKeyFile(path: string): MasterKey {
  if (exists(path)) return readKeyFile(path);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const key = generateMasterKey(path);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${key.bytes.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  syncDir(join(path, '..'));
  return readKeyFile(path);
}

/** The key of a rotation that started and did not finish, if any. */
export function readPendingKey(home: string): MasterKey | null {
  const path = join(home, PENDING_KEY_FILE);
  return exists(path) ? readKeyFile(path) : null;
}

/** The key a file-based rotation moves to: the pending one when a rotation was interrupted, else a new one. */
export function readOrCreatePendingKey(home: string): MasterKey {
  return readOrCreateKeyFile(join(home, PENDING_KEY_FILE));
}

/** Makes the pending key the current one (an atomic rename over master.key). */
export function promotePendingKey(home: string): void {
  renameSync(join(home, PENDING_KEY_FILE), join(home, KEY_FILE));
  syncDir(home);
}

/**
 * The keys of this configuration: KAGE_MASTER_KEY, else the key file (created only when `create`), plus
 * the keys that may still open older rows: a pending rotation's key and KAGE_MASTER_KEY_OLD.
 */
export function loadMasterKeys(config: { home: string; masterKey: string | null; masterKeyOld: string | null },
  opts: { create: boolean }): MasterKeys {
  const file = join(config.home, KEY_FILE);
  const current = config.masterKey !== null
    ? parseMasterKey(config.masterKey, 'KAGE_MASTER_KEY')
    : opts.create ? readOrCreateKeyFile(file) : exists(file) ? readKeyFile(file) : null;
  const all: MasterKey[] = [];
  const add = (key: MasterKey | null): void => {
    if (key !== null && !all.some((k) => k.id === key.id)) all.push(key);
  };
  add(current);
  add(readPendingKey(config.home));
  add(config.masterKeyOld === null ? null : parseMasterKey(config.masterKeyOld, 'KAGE_MASTER_KEY_OLD'));
  return { current, all };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A rename or link is durable only once its directory is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
