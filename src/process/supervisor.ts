// Runs one child process in its own process group and turns whatever happens to it into a ProcessResult.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { OutputCollector } from './output-collector.js';
import { isProcessGroupAlive, killProcessGroup } from './process-group.js';

export { isProcessAlive, isProcessGroupAlive, killProcessGroup } from './process-group.js';

export interface SpawnSpec {
  /** argv[0] is the executable; never a shell string. */
  argv: string[];
  cwd: string;
  /** The complete environment (already built from the allowlist). */
  env: Record<string, string>;
  /** `ignore` gives the child /dev/null (EOF at once); `text` writes the text then closes the pipe. */
  stdin: { kind: 'ignore' } | { kind: 'text'; text: string };
  /** Wall clock, from spawn. */
  timeoutMs: number;
  /** Default 5000: SIGTERM to the group, SIGKILL after this. */
  killGraceMs?: number;
  /** Default 1 MiB: longer lines are truncated (the rest dropped up to the newline) and counted. */
  maxLineBytes?: number;
  /** Default 64 MiB of stdout+stderr; past it output is read and discarded (the process keeps running). */
  maxOutputBytes?: number;
  /** Default 8 KiB of stderr kept for `stderrTail`. */
  stderrTailBytes?: number;
  /** Aborting kills the group; the result then has `cancelled: true`. */
  signal?: AbortSignal;
  /** Called synchronously for every line; must not throw. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  onSpawn?: (pid: number) => void;
}

export interface ProcessResult {
  /** The leader's exit code; null when it was killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that killed the leader (`SIGKILL`), whoever sent it. */
  signal: string | null;
  /** We killed the group because `timeoutMs` passed. */
  timedOut: boolean;
  /** We killed the group (or never spawned) because `signal` was aborted. */
  cancelled: boolean;
  durationMs: number;
  stderrTail: string;
  /** Why the process could not be started (`spawn agent ENOENT`), else null. */
  spawnError: string | null;
  /** Output past `maxOutputBytes` was discarded. */
  outputTruncated: boolean;
  /** Number of lines cut at `maxLineBytes`. */
  linesTruncated: number;
  /** Leader pid, which is also the process group id. */
  pid: number | null;
}

const DEFAULT_KILL_GRACE_MS = 5_000;
const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const DEFAULT_STDERR_TAIL_BYTES = 8 * 1024;
/** How long the pipes may stay open after the leader exited (a grandchild holding them) before we destroy them. */
const PIPE_DRAIN_MS = 2_000;
/** How long past the SIGKILL we keep waiting for the group (and the leader) to disappear. */
const GROUP_EXIT_SLACK_MS = 2_000;
const GROUP_POLL_MS = 50;
/** setTimeout fires at once for delays above 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `spec` to completion. Never rejects: every failure is described by the result. */
export async function runProcess(spec: SpawnSpec): Promise<ProcessResult> {
  const startedAt = performance.now();
  const result: ProcessResult = {
    exitCode: null,
    signal: null,
    timedOut: false,
    cancelled: false,
    durationMs: 0,
    stderrTail: '',
    spawnError: null,
    outputTruncated: false,
    linesTruncated: 0,
    pid: null,
  };
  if (spec.signal?.aborted) return { ...result, cancelled: true };
  const [file, ...args] = spec.argv;
  if (file === undefined || file === '') return { ...result, spawnError: 'argv is empty' };

  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: spec.cwd,
      env: spec.env,
      // Its own process group, so one kill(-pid) reaches everything the agent started.
      detached: true,
      shell: false,
      stdio: [spec.stdin.kind === 'text' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return { ...result, spawnError: describeSpawnError(err, spec.cwd), durationMs: msSince(startedAt) };
  }
  const pid = child.pid;
  if (pid === undefined) {
    // Node reports ENOENT, EACCES and friends on the next tick through `error`.
    const err = await new Promise<unknown>((resolve) => child.once('error', resolve));
    return { ...result, spawnError: describeSpawnError(err, spec.cwd), durationMs: msSince(startedAt) };
  }
  return supervise(child, pid, spec, result, startedAt);
}

async function supervise(
  child: ChildProcess,
  pid: number,
  spec: SpawnSpec,
  result: ProcessResult,
  startedAt: number,
): Promise<ProcessResult> {
  const killGraceMs = spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const output = new OutputCollector({
    maxLineBytes: spec.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    maxOutputBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    stderrTailBytes: spec.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES,
    onLine: spec.onLine,
  });
  const pipesClosed = Promise.all([
    child.stdout ? output.attach(child.stdout, 'stdout') : Promise.resolve(),
    child.stderr ? output.attach(child.stderr, 'stderr') : Promise.resolve(),
  ]);
  // Errors after a successful spawn (a failed internal kill) change nothing: `exit` still decides.
  child.on('error', () => undefined);

  let leaderExited = false;
  let killStartedAt: number | null = null;
  let giveUp: () => void = () => undefined;
  const gaveUp = new Promise<null>((resolve) => (giveUp = () => resolve(null)));
  const timers: NodeJS.Timeout[] = [];

  const terminate = (reason: 'timeout' | 'cancel'): void => {
    if (leaderExited || killStartedAt !== null) return;
    if (reason === 'timeout') result.timedOut = true;
    else result.cancelled = true;
    killStartedAt = performance.now();
    killProcessGroup(pid, 'SIGTERM');
    // The leader may exit on SIGTERM while a child it started ignores it: the group decides, not the leader.
    timers.push(setTimeout(() => isProcessGroupAlive(pid) && killProcessGroup(pid, 'SIGKILL'), killGraceMs));
    timers.push(setTimeout(giveUp, killGraceMs + GROUP_EXIT_SLACK_MS));
  };
  const onAbort = (): void => terminate('cancel');
  const timeoutTimer = setTimeout(() => terminate('timeout'), Math.min(Math.max(spec.timeoutMs, 0), MAX_TIMER_MS));
  spec.signal?.addEventListener('abort', onAbort, { once: true });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      leaderExited = true;
      clearTimeout(timeoutTimer);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal });
    }),
  );

  if (spec.stdin.kind === 'text' && child.stdin) {
    // EPIPE when the child exits without reading its stdin is not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin.text);
  }
  spec.onSpawn?.(pid);

  const exit = await Promise.race([exited, gaveUp]);
  if (exit !== null) {
    result.exitCode = exit.code;
    result.signal = exit.signal;
  }
  if (killStartedAt !== null) {
    await waitUntil(() => !isProcessGroupAlive(pid), killStartedAt + killGraceMs + GROUP_EXIT_SLACK_MS);
  }
  // A grandchild that inherited stdout/stderr can keep them open forever after the leader is gone.
  if (!(await settlesWithin(pipesClosed, PIPE_DRAIN_MS))) {
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  child.stdin?.destroy();
  output.finish();
  clearTimeout(timeoutTimer);
  for (const timer of timers) clearTimeout(timer);
  spec.signal?.removeEventListener('abort', onAbort);

  result.pid = pid;
  result.stderrTail = output.stderrTail;
  result.outputTruncated = output.outputTruncated;
  result.linesTruncated = output.linesTruncated;
  result.durationMs = msSince(startedAt);
  return result;
}

async function waitUntil(condition: () => boolean, deadline: number): Promise<boolean> {
  for (;;) {
    if (condition()) return true;
    const leftMs = deadline - performance.now();
    if (leftMs <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(GROUP_POLL_MS, leftMs)));
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function describeSpawnError(err: unknown, cwd: string): string {
  const message = err instanceof Error ? err.message : String(err);
  // Node reports a missing working directory as the executable's ENOENT, which sends people looking in PATH.
  if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT' && !isDirectory(cwd)) {
    return `${message} (working directory ${cwd} does not exist)`;
  }
  return message;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function msSince(start: number): number {
  return Math.round(performance.now() - start);
}
