// The floor: the least work any orchestrator must do for one task, timed with the same git and the same
// fake agent kage uses. Per clone, in parallel: add a worktree on a new branch, run the agent there to
// exit, commit what it left, remove the worktree; then merge one branch into the base. Worktree add and
// remove take turns per repository, as kage's repository lock makes them (git fails rather than waits
// when another `git worktree` holds its lock); commits run in parallel, each on its own branch.
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFakeCommand } from '../agents/fake.js';
import { NO_PROVIDERS } from '../agents/adapter.js';
import { COMMIT_CONFIG, runGit } from '../workspace/git.js';

export interface FloorRepo {
  repo: string;
  /** Branch the clones start from and the merge advances (kage's `main`). */
  baseBranch: string;
  /** Directory for the worktrees, outside the repository. */
  worktreeRoot: string;
  /** HOME given to the agent processes. */
  agentHome: string;
  /** The agent's environment: the one kage's clone runner builds, so both spawn the same process. */
  env: Record<string, string>;
}

export interface FloorTask {
  /** Distinguishes the branches and worktree paths of one task from the others. */
  label: string;
  clones: number;
  prompt: string;
  /** The fake agent's options, as a kage clone would carry them. */
  options: Record<string, unknown>;
}

/** Runs `fn` after every earlier call on the same lock finished (FIFO). */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Runs the agent to exit, reading (and dropping) its output as a supervisor must; rejects on a non-zero exit. */
function runAgent(argv: string[], cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`fake agent exited with ${code ?? signal} in ${cwd}: ${stderr.slice(0, 600)}`));
    });
  });
}

export function createFloor(target: FloorRepo) {
  const withRepoLock = createMutex();
  const env = target.env;

  async function runClone(task: FloorTask, index: number): Promise<string> {
    const branch = `floor/${task.label}/c${index}`;
    const path = join(target.worktreeRoot, task.label, `c${index}`);
    await withRepoLock(() => runGit(['worktree', 'add', '-q', '-b', branch, path, target.baseBranch], { cwd: target.repo }));
    const command = buildFakeCommand({ prompt: task.prompt, model: null, worktree: path, home: target.agentHome,
      resumeSessionId: null, options: task.options, env, providers: NO_PROVIDERS, binary: null });
    await runAgent(command.argv, path, { ...env, ...command.env });
    await runGit(['add', '-A'], { cwd: path });
    await runGit([...COMMIT_CONFIG, 'commit', '-q', '--no-verify', '-m', `floor ${task.label} c${index}`], { cwd: path });
    await withRepoLock(() => runGit(['worktree', 'remove', '--force', path], { cwd: target.repo }));
    return branch;
  }

  /** Merges `branch` into the base branch without a checkout: merge-tree, commit-tree, update-ref. */
  async function merge(branch: string, label: string): Promise<void> {
    const baseRef = `refs/heads/${target.baseBranch}`;
    const base = (await runGit(['rev-parse', baseRef], { cwd: target.repo })).stdout.trim();
    const tree = (await runGit(['merge-tree', '--write-tree', base, branch], { cwd: target.repo })).stdout.split('\n')[0]!;
    const commit = (await runGit([...COMMIT_CONFIG, 'commit-tree', tree, '-p', base, '-p', branch, '-m', `floor merge ${label}`],
      { cwd: target.repo })).stdout.trim();
    await runGit(['update-ref', baseRef, commit, base], { cwd: target.repo });
  }

  return {
    /** Does one task's minimum work; resolves to its wall-clock duration in ms. */
    async run(task: FloorTask): Promise<number> {
      await mkdir(target.agentHome, { recursive: true });
      const startedAt = performance.now();
      const branches = await Promise.all(Array.from({ length: task.clones }, (_, i) => runClone(task, i)));
      await merge(branches[0]!, task.label);
      const elapsedMs = performance.now() - startedAt;
      await rm(join(target.worktreeRoot, task.label), { recursive: true, force: true });
      return elapsedMs;
    },
  };
}

export type Floor = ReturnType<typeof createFloor>;
