// Scratch repositories for the benchmark, and the count of worktrees a run leaves behind in them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMIT_CONFIG, runGit } from '../workspace/git.js';

/**
 * Every task rewrites this one file with new content, so each merge changes something while the
 * repository keeps its size: a file per task would make every checkout, and so every task, slower than
 * the one before, measuring the repository's growth instead of the orchestrator.
 */
export const TASK_FILE = 'bench.txt';

/** A repository at `dir` with one commit on `main`. */
export async function createBenchRepo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await runGit(['init', '-q', '-b', 'main'], { cwd: dir });
  await writeFile(join(dir, 'README.md'), '# bench\n');
  await runGit(['add', '-A'], { cwd: dir });
  await runGit([...COMMIT_CONFIG, 'commit', '-q', '-m', 'initial'], { cwd: dir });
  return dir;
}

/** Entries of `git worktree list` other than the repository's own checkout. */
export async function linkedWorktrees(repo: string): Promise<string[]> {
  const res = await runGit(['worktree', 'list', '--porcelain'], { cwd: repo });
  const paths = res.stdout.split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length));
  return paths.slice(1);
}
