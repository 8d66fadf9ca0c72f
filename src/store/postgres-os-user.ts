// Picks the unprivileged OS account the server runs as when kage runs as root, and checks what it can reach.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { runCommand, describeFailure, type RunAs } from './pg-command.js';
import { KageError } from '../domain/index.js';

/** Account created when the machine has no `postgres` user. */
export const SERVICE_USER = 'kage-pg';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The account to run initdb and pg_ctl as: null when kage is not root (it runs them itself);
 * otherwise `postgres` if it exists, else `kage-pg`, created on first use. Postgres refuses uid 0.
 */
export async function serviceUser(log: (msg: string) => void): Promise<RunAs | null> {
  if (!isRoot()) return null;
  const existing = (await lookupUser('postgres')) ?? (await lookupUser(SERVICE_USER));
  if (existing) return existing;
  let lastFailure = '';
  // Two kage processes may both find the user missing; the loser's useradd fails ("already exists", or
  // "cannot lock /etc/passwd" while the winner holds it), so a failure is followed by another lookup.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const added = await runCommand('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
    if (added.exitCode === 0) log(`created system user ${SERVICE_USER} to run PostgreSQL (it refuses to run as root)`);
    else lastFailure = describeFailure(added);
    const created = await lookupUser(SERVICE_USER);
    if (created) return created;
    await new Promise((done) => setTimeout(done, 100 * (attempt + 1)));
  }
  throw new KageError(
    'KAGE_STORE_UNAVAILABLE',
    `PostgreSQL cannot run as root and the system user ${SERVICE_USER} could not be created: useradd ${lastFailure}`,
  );
}

export async function lookupUser(name: string): Promise<RunAs | null> {
  const [uid, gid] = await Promise.all([runCommand('id', ['-u', name]), runCommand('id', ['-g', name])]);
  if (uid.exitCode !== 0 || gid.exitCode !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name };
}

/** The owner of an existing data directory: it must keep running the server that initialised it. */
export function ownerOf(path: string): RunAs | null {
  try {
    const stat = statSync(path);
    return { uid: stat.uid, gid: stat.gid, name: `uid ${stat.uid}` };
  } catch {
    return null;
  }
}

/**
 * Whether `user` can walk down to `path`: every directory from `/` to `path` must grant it execute.
 * Mirrors the kernel's owner, then group, then others order; only the primary group is considered,
 * so the answer errs towards "no", which costs a relocation rather than a failed start.
 */
export function canTraverse(path: string, user: RunAs): boolean {
  const chain: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chain.push(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of chain) {
    let stat;
    try {
      stat = statSync(dir);
    } catch {
      return false;
    }
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return false;
  }
  return true;
}
