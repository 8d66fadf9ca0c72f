// Runs one PostgreSQL program (initdb, pg_ctl, postgres --version) as a given OS user and reports how it ended.
import { execFile } from 'node:child_process';

/** The unprivileged account the server runs as when kage itself runs as root. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/** How a program ended. A non-zero exit is a result for the caller to interpret, not an exception. */
export interface CommandResult {
  /** Null when the program was killed by a signal or could not be started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why the program could not be started at all (`ENOENT`, `EACCES`), else null. */
  spawnError: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CommandOptions {
  runAs?: RunAs | null;
  cwd?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 4 * 1024 * 1024,
        // A fixed locale keeps messages and initdb's defaults the same on every machine.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
      },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null }) | null;
        const numericCode = typeof failure?.code === 'number' ? (failure.code as number) : null;
        const spawnError = failure && typeof failure.code === 'string' ? failure.code : null;
        resolve({
          exitCode: failure ? numericCode : 0,
          signal: failure?.signal ?? null,
          timedOut: Boolean(failure?.killed) && failure?.signal === 'SIGKILL',
          spawnError,
          stdout: String(stdout),
          stderr: String(stderr),
          durationMs: Date.now() - startedAt,
        });
      },
    );
  });
}

/** One line describing a failed run, for error messages. */
export function describeFailure(result: CommandResult): string {
  const how = result.spawnError
    ? `could not start (${result.spawnError})`
    : result.timedOut
      ? `timed out after ${result.durationMs} ms`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.exitCode}`;
  const output = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-5).join('\n');
  return output ? `${how}: ${output}` : how;
}
