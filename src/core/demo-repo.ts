// Creates the demo repository: a tiny Node project with a failing test, committed on branch main.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEMO_REPO_FILES } from '../agents/demo-repo-files.js';
import { COMMIT_CONFIG, runGit } from '../workspace/git.js';

export async function createDemoRepo(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(DEMO_REPO_FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await runGit(['init', '-q', '-b', 'main'], { cwd: dir });
  await runGit(['add', '-A'], { cwd: dir });
  await runGit([...COMMIT_CONFIG, 'commit', '-q', '-m', 'Demo project with a bug in add()'], { cwd: dir });
  return dir;
}
