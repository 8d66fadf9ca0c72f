// Signals and liveness checks for process groups: the supervisor's kill path and the proof that nothing survived.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Sends `signal` to every process in the group led by `pid` (`kill(-pid, sig)`).
 * Returns false when nothing was signalled: no such group (ESRCH), or not ours to signal (EPERM).
 */
export function killProcessGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  // kill(-0) and kill(-1) would hit our own group or every process we may signal.
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/** Whether `pid` is a running process. A zombie counts as dead: it runs nothing and only waits to be reaped. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (!signalZero(pid)) return false;
  if (process.platform !== 'linux') return true;
  const stat = readStat(String(pid));
  return stat !== null && !isDeadState(stat.state);
}

/**
 * Whether any member of the process group `pgid` is still running. `kill(-pgid, 0)` alone is not enough:
 * orphaned members that died stay in the group as zombies until their new parent reaps them, and a
 * container's init may never do so. On Linux the group is therefore confirmed by scanning /proc.
 */
export function isProcessGroupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  if (!signalZero(-pgid)) return false;
  if (process.platform !== 'linux') return true;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
    if (stat !== null && stat.pgrp === pgid && !isDeadState(stat.state)) return true;
  }
  return false;
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) === 'EPERM';
  }
}

function readStat(pid: string): { state: string; pgrp: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  return state === undefined || !Number.isFinite(pgrp) ? null : { state, pgrp };
}

function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
