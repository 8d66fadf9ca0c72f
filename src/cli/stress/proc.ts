// Reads a process's figures from /proc on this machine: resident memory, open file descriptors, the
// processes below it, and when it started (to tell the server's pid from an unrelated local process).
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Linux reports process start times in USER_HZ ticks, 100 a second on every architecture it supports. */
const TICKS_PER_SECOND = 100;
/** `btime` is whole seconds and clocks drift a little: start times this close are the same process. */
const START_TOLERANCE_MS = 3000;

export interface ProcessFigures {
  rssBytes: number | null;
  /** Null when /proc/<pid>/fd cannot be read (another user's process). */
  openFds: number | null;
  /** Processes whose parent is the process. */
  children: number;
  /** Every process below it, children's children included: agent CLIs start their own. */
  descendants: number;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const end = stat.lastIndexOf(')');
  return end < 0 ? null : stat.slice(end + 2).split(' ');
}

export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}/stat`);
}

/** When the process started, in epoch milliseconds; null when it is not on this machine. */
export function processStartMs(pid: number): number | null {
  const fields = statFields(pid);
  // starttime is field 22 of stat; the slice starts at field 3.
  const ticks = Number(fields?.[19]);
  const btime = /^btime\s+(\d+)$/m.exec(readText('/proc/stat') ?? '')?.[1];
  if (!Number.isFinite(ticks) || btime === undefined) return null;
  return Number(btime) * 1000 + (ticks / TICKS_PER_SECOND) * 1000;
}

/**
 * Whether `pid` on this machine is the process the server describes: it exists and started when the server
 * says it did. A server on another machine, or in a container with its own pid namespace, fails this even
 * when some local process happens to have the same pid.
 */
export function isLocalProcess(pid: number, startedAtMs: number): { local: boolean; reason: string } {
  if (!processExists(pid)) return { local: false, reason: `no process ${pid} on this machine (/proc/${pid} is missing)` };
  const startMs = processStartMs(pid);
  if (startMs === null) return { local: false, reason: `cannot read the start time of process ${pid}` };
  if (Math.abs(startMs - startedAtMs) > START_TOLERANCE_MS) {
    return {
      local: false,
      reason: `process ${pid} on this machine started at ${new Date(startMs).toISOString()}, the server at ${new Date(startedAtMs).toISOString()}: another process`,
    };
  }
  return { local: true, reason: `process ${pid} on this machine started when the server did` };
}

function residentBytes(pid: number): number | null {
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readText(`/proc/${pid}/status`) ?? '')?.[1];
  return kb === undefined ? null : Number(kb) * 1024;
}

function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Parent pid of every process on the machine, from one pass over /proc. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // Field 4 is the parent pid; processes that exit during the scan just drop out.
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  return parents;
}

function countBelow(pid: number, parents: Map<number, number>): { children: number; descendants: number } {
  const kids = new Map<number, number[]>();
  for (const [child, parent] of parents) {
    const list = kids.get(parent);
    if (list) list.push(child);
    else kids.set(parent, [child]);
  }
  const direct = kids.get(pid) ?? [];
  let descendants = 0;
  const todo = [...direct];
  const seen = new Set<number>([pid]);
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    descendants++;
    todo.push(...(kids.get(next) ?? []));
  }
  return { children: direct.length, descendants };
}

export function readProcessFigures(pid: number): ProcessFigures {
  return { rssBytes: residentBytes(pid), openFds: openFds(pid), ...countBelow(pid, parentsByPid()) };
}
