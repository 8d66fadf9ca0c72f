// Reading the `--json` output of the real `kage` CLI in tests.
import { kageCli, type CliResult } from './harness.js';

export interface CloneJson {
  id: string;
  name: string;
  status: string;
  branch: string;
  headCommit: string | null;
  attempt: number;
  retries: number;
  pid: number | null;
  worktree: string | null;
}

export interface TaskJson {
  id: string;
  status: string;
  bestClone: string | null;
  mergeStatus: string;
  mergeCommit: string | null;
  clones: CloneJson[];
}

export function parseJson<T>(result: CliResult, what: string): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`${what} printed no JSON (exit ${result.code}); stdout: ${result.stdout.slice(-800)} stderr: ${result.stderr.slice(-800)}`);
  }
}

/** `kage status <id> --json`, parsed. */
export async function taskStatus(id: string, env: Record<string, string>): Promise<TaskJson> {
  const result = await kageCli(['status', id, '--json'], env);
  if (result.code !== 0) throw new Error(`kage status ${id} exited ${result.code}: ${result.stderr}`);
  return parseJson<TaskJson>(result, 'kage status --json');
}
