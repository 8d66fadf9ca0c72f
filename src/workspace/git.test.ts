import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectRepo } from './git.js';

function repo(commit: boolean): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'kage-git-')));
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  if (commit) {
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    execFileSync('git', ['add', '-A'], { cwd: dir });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'a'], { cwd: dir });
  }
  return dir;
}

describe('inspectRepo', () => {
  it('answers root, branch and head commit in one call', async () => {
    const dir = repo(true);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    expect(await inspectRepo(join(dir))).toEqual({ root: dir, branch: 'main', head });
  });

  it('reports a detached HEAD as no branch', async () => {
    const dir = repo(true);
    execFileSync('git', ['checkout', '-q', '--detach'], { cwd: dir });
    expect((await inspectRepo(dir))?.branch).toBeNull();
  });

  it('gives null for a directory that is not a repository and for a branch with no commit', async () => {
    expect(await inspectRepo(mkdtempSync(join(tmpdir(), 'kage-plain-')))).toBeNull();
    expect(await inspectRepo(repo(false))).toBeNull();
    expect(await inspectRepo('/no/such/dir')).toBeNull();
  });
});
