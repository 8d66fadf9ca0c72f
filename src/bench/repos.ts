// Scratch repositories for the benchmark, and the count of worktrees a run leaves behind in them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMIT_CONFIG, runGit } from '../workspace/git.js';

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
