// Runs the task's check command (the user's own shell command) in a clone's worktree.
// The command comes from the user's configuration, not from the task description, so a shell is fine here;
// the description never reaches it.
import type { CheckStatus } from '../domain/index.js';
import { runProcess } from '../process/supervisor.js';

export interface CheckResult {
  status: CheckStatus;
  exitCode: number | null;
  durationMs: number;
  /** Last part of the combined output. */
  output: string;
}

const OUTPUT_TAIL_CHARS = 8_000;

export async function runCheck(opts: {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  killGraceMs: number;
  signal?: AbortSignal;
}): Promise<CheckResult> {
  const lines: string[] = [];
  let size = 0;
  const result = await runProcess({
    argv: ['/bin/sh', '-c', opts.command],
    cwd: opts.cwd,
    env: opts.env,
    stdin: { kind: 'ignore' },
    timeoutMs: opts.timeoutMs,
    killGraceMs: opts.killGraceMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onLine: (line) => {
      lines.push(line);
      size += line.length + 1;
      while (size > OUTPUT_TAIL_CHARS * 2 && lines.length > 1) size -= lines.shift()!.length + 1;
    },
  });
  let output = lines.join('\n');
  if (output.length > OUTPUT_TAIL_CHARS) output = output.slice(-OUTPUT_TAIL_CHARS);
  const status: CheckStatus = result.spawnError
    ? 'error'
    : result.timedOut
      ? 'timeout'
      : result.exitCode === 0
        ? 'passed'
        : 'failed';
  if (result.spawnError) output = `${output}\n${result.spawnError}`.trim();
  return { status, exitCode: result.exitCode, durationMs: result.durationMs, output };
}
