// The worker's tools on real temp directories: confinement, exact edits, bounded output.
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/agent-fixtures.js';
import { runTool, type ToolContext } from './index.js';
import { MAX_SEARCH_MATCHES } from './search.js';
import { createWorkspace } from './workspace.js';

function context(cwd: string, commandTimeoutMs = 10_000): ToolContext {
  return { workspace: createWorkspace(cwd), commandTimeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } };
}

describe('path confinement', () => {
  it('refuses .., absolute paths outside and symlinks leading out, and writes nothing', async () => {
    const outside = tempDir({ 'secret.txt': 'top secret' });
    const root = path.join(tempDir(), 'work');
    mkdirSync(root);
    symlinkSync(outside, path.join(root, 'link'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
    symlinkSync(path.join(outside, 'gone'), path.join(root, 'dangling'));
    const ctx = context(root);
    const calls: [string, Record<string, unknown>][] = [
      ['write_file', { path: '../x', content: 'no' }],
      ['write_file', { path: 'a/../../x', content: 'no' }],
      ['write_file', { path: path.join(outside, 'x'), content: 'no' }],
      ['write_file', { path: 'link/x', content: 'no' }],
      ['write_file', { path: 'leak.txt', content: 'no' }],
      ['write_file', { path: 'dangling', content: 'no' }],
      ['read_file', { path: 'leak.txt' }],
      ['read_file', { path: '/etc/passwd' }],
      ['edit_file', { path: 'leak.txt', old_text: 'top', new_text: 'no' }],
      ['list_files', { path: 'link' }],
      ['search', { text: 'secret', path: '..' }],
    ];
    for (const [name, input] of calls) {
      const outcome = await runTool(name, input, ctx);
      expect(outcome.isError, `${name} ${JSON.stringify(input)}`).toBe(true);
      expect(outcome.output).toMatch(/^Refusing /);
    }
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    expect(readdirSync(path.dirname(root))).toEqual(['work']);
  });

  it('allows absolute paths and symlinks that stay inside the working directory', async () => {
    const root = tempDir({ 'src/a.txt': 'alpha\n' });
    symlinkSync(path.join(root, 'src'), path.join(root, 'alias'));
    const ctx = context(root);
    expect(await runTool('read_file', { path: path.join(root, 'src/a.txt') }, ctx)).toEqual({ output: 'alpha\n', isError: false });
    expect(await runTool('write_file', { path: 'alias/b.txt', content: 'beta' }, ctx)).toEqual({ output: 'Wrote 4 bytes to src/b.txt', isError: false });
    expect(readFileSync(path.join(root, 'src/b.txt'), 'utf8')).toBe('beta');
  });

  it('never writes into .git', async () => {
    const root = tempDir({ '.git': 'gitdir: /somewhere\n' });
    const outcome = await runTool('write_file', { path: '.git', content: 'x' }, context(root));
    expect(outcome).toEqual({ output: 'Refusing to write ".git": .git is off limits', isError: true });
  });
});

/**
 * A worktree beside a directory it must not touch, and every kind of link out of it:
 *   work/link -> outside (absolute)     work/hop -> link (a chain)      work/up -> .. (relative, the parent)
 *   work/leak.txt -> outside/secret.txt work/dangling -> outside/gone   work/loop -> loop
 *   work/gitlink -> .git                work/.git/hooks/ (a plain clone's git directory)
 */
function escapeFixture(): { root: string; outside: string; parent: string; ctx: ToolContext } {
  const outside = tempDir({ 'secret.txt': 'top secret', 'sub/deeper.txt': 'deeper secret' });
  const parent = tempDir();
  const root = path.join(parent, 'work');
  mkdirSync(path.join(root, '.git', 'hooks'), { recursive: true });
  writeFileSync(path.join(root, 'own.txt'), 'mine');
  symlinkSync(outside, path.join(root, 'link'));
  symlinkSync('link', path.join(root, 'hop'));
  symlinkSync('..', path.join(root, 'up'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
  symlinkSync(path.join(outside, 'gone'), path.join(root, 'dangling'));
  symlinkSync('loop', path.join(root, 'loop'));
  symlinkSync('.git', path.join(root, 'gitlink'));
  return { root, outside, parent, ctx: context(root) };
}

/** Nothing outside the worktree changed, and no hook was planted. */
function expectUntouched(f: { root: string; outside: string; parent: string }): void {
  expect(readdirSync(f.outside).sort()).toEqual(['secret.txt', 'sub']);
  expect(readdirSync(path.join(f.outside, 'sub'))).toEqual(['deeper.txt']);
  expect(readFileSync(path.join(f.outside, 'secret.txt'), 'utf8')).toBe('top secret');
  expect(readdirSync(f.parent)).toEqual(['work']);
  expect(readdirSync(path.join(f.root, '.git', 'hooks'))).toEqual([]);
}

async function expectRefused(ctx: ToolContext, calls: readonly [string, Record<string, unknown>][], message: RegExp): Promise<void> {
  for (const [name, input] of calls) {
    const outcome = await runTool(name, input, ctx);
    expect(outcome.isError, `${name} ${JSON.stringify(input)}`).toBe(true);
    expect(outcome.output, `${name} ${JSON.stringify(input)}`).toMatch(message);
    expect(outcome.output).not.toMatch(/top secret|deeper secret/);
  }
}

describe('path confinement, case by case', () => {
  it('refuses `..` and absolute paths outside the working directory for every tool', async () => {
    const f = escapeFixture();
    await expectRefused(f.ctx, [
      ['read_file', { path: '../work/../../secret.txt' }],
      ['read_file', { path: path.join(f.outside, 'secret.txt') }],
      ['write_file', { path: '..', content: 'no' }],
      ['write_file', { path: 'new/../../x', content: 'no' }],
      ['write_file', { path: path.join(f.outside, 'sub', 'x'), content: 'no' }],
      ['edit_file', { path: path.join(f.outside, 'secret.txt'), old_text: 'top', new_text: 'no' }],
      ['list_files', { path: '../' }],
      ['list_files', { path: f.outside }],
      ['search', { text: 'secret', path: f.outside }],
    ], /: it is outside the working directory$/);
    expectUntouched(f);
  });

  it('refuses to read through a symlink leading out: a linked file, a linked directory, a chain of links, a link to the parent', async () => {
    const f = escapeFixture();
    await expectRefused(f.ctx, [
      ['read_file', { path: 'leak.txt' }],
      ['read_file', { path: 'link/secret.txt' }],
      ['read_file', { path: 'link/sub/deeper.txt' }],
      ['read_file', { path: 'hop/secret.txt' }],
      ['read_file', { path: `up/${path.basename(f.outside)}/secret.txt` }],
      ['list_files', { path: 'link' }],
      ['list_files', { path: 'hop/sub' }],
      ['list_files', { path: 'up' }],
      ['search', { text: 'secret', path: 'leak.txt' }],
      ['search', { text: 'secret', path: 'link' }],
      ['search', { text: 'secret', path: 'up' }],
    ], /^Refusing ".*": a symbolic link leads outside the working directory$/);
  });

  it('refuses to write through a symlink leading out, including a new file or directory under a linked directory', async () => {
    const f = escapeFixture();
    await expectRefused(f.ctx, [
      ['write_file', { path: 'leak.txt', content: 'no' }],
      ['write_file', { path: 'link/secret.txt', content: 'no' }],
      ['write_file', { path: 'link/new.txt', content: 'no' }],
      ['write_file', { path: 'link/newdir/deep/new.txt', content: 'no' }],
      ['write_file', { path: 'link/sub/new.txt', content: 'no' }],
      ['write_file', { path: 'hop/new.txt', content: 'no' }],
      ['write_file', { path: 'up/new.txt', content: 'no' }],
      ['write_file', { path: 'up/newdir/new.txt', content: 'no' }],
      ['edit_file', { path: 'leak.txt', old_text: 'top', new_text: 'no' }],
      ['edit_file', { path: 'link/sub/deeper.txt', old_text: 'deeper', new_text: 'no' }],
      ['edit_file', { path: 'hop/secret.txt', old_text: 'top', new_text: 'no' }],
    ], /^Refusing ".*": a symbolic link leads outside the working directory$/);
    expectUntouched(f);
  });

  it('refuses broken and looping symlinks, even as the parent of a new file', async () => {
    const f = escapeFixture();
    await expectRefused(f.ctx, [
      ['write_file', { path: 'dangling', content: 'no' }],
      ['write_file', { path: 'dangling/new.txt', content: 'no' }],
      ['read_file', { path: 'dangling' }],
      ['write_file', { path: 'loop', content: 'no' }],
      ['write_file', { path: 'loop/new.txt', content: 'no' }],
      ['list_files', { path: 'loop' }],
    ], /^Refusing ".*": it is a broken symbolic link$/);
    expectUntouched(f);
    expect(readdirSync(f.outside)).not.toContain('gone');
  });

  it('refuses writes into .git, directly or through a symlink to it, so no hook can be planted', async () => {
    const f = escapeFixture();
    await expectRefused(f.ctx, [
      ['write_file', { path: '.git/hooks/pre-commit', content: '#!/bin/sh\nrm -rf ~\n' }],
      ['write_file', { path: './.git/config', content: 'no' }],
      // The same directory on a case-insensitive file system (macOS, Windows).
      ['write_file', { path: '.GIT/hooks/pre-commit', content: 'no' }],
      ['write_file', { path: 'gitlink/hooks/pre-commit', content: '#!/bin/sh\nrm -rf ~\n' }],
      ['write_file', { path: path.join(f.root, '.git', 'HEAD'), content: 'no' }],
    ], /^Refusing to write ".*": \.git is off limits$/);
    expectUntouched(f);
  });

  it('lists and searches the worktree without following the links that lead out', async () => {
    const f = escapeFixture();
    const listed = await runTool('list_files', {}, f.ctx);
    expect(listed).toEqual({ output: ['dangling', 'gitlink', 'hop', 'leak.txt', 'link', 'loop', 'own.txt', 'up'].join('\n'), isError: false });
    expect(await runTool('search', { text: 'secret' }, f.ctx)).toEqual({ output: 'No matches', isError: false });
    expect(await runTool('read_file', { path: 'own.txt' }, f.ctx)).toEqual({ output: 'mine', isError: false });
  });
});

describe('file tools', () => {
  it('creates parent directories when writing', async () => {
    const root = tempDir();
    await runTool('write_file', { path: 'deep/er/file.txt', content: 'x' }, context(root));
    expect(readFileSync(path.join(root, 'deep/er/file.txt'), 'utf8')).toBe('x');
  });

  it('edits only when the old text occurs exactly once', async () => {
    const root = tempDir({ 'a.js': 'return a - b;\nreturn a - b;\nconst c = 1;\n' });
    const ctx = context(root);
    expect(await runTool('edit_file', { path: 'a.js', old_text: 'return a - b;', new_text: 'return a + b;' }, ctx)).toMatchObject({
      isError: true,
      output: expect.stringContaining('more than once'),
    });
    expect(await runTool('edit_file', { path: 'a.js', old_text: 'const d', new_text: 'x' }, ctx)).toMatchObject({
      isError: true,
      output: expect.stringContaining('not found'),
    });
    expect(await runTool('edit_file', { path: 'a.js', old_text: 'const c = 1;', new_text: 'const c = 2;' }, ctx)).toEqual({ output: 'Edited a.js', isError: false });
    expect(readFileSync(path.join(root, 'a.js'), 'utf8')).toBe('return a - b;\nreturn a - b;\nconst c = 2;\n');
  });

  it('lists files recursively without .git and node_modules', async () => {
    const root = tempDir({ 'b.txt': '', 'src/a.ts': '', '.git/HEAD': '', 'node_modules/x/index.js': '' });
    expect(await runTool('list_files', {}, context(root))).toEqual({ output: 'b.txt\nsrc/a.ts', isError: false });
  });

  it('searches plain text, not patterns, and bounds the matches', async () => {
    const root = tempDir({ 'a.txt': 'x.y\nxzy\n', 'many.txt': 'hit\n'.repeat(MAX_SEARCH_MATCHES + 5) });
    const ctx = context(root);
    expect(await runTool('search', { text: 'x.y' }, ctx)).toEqual({ output: 'a.txt:1: x.y', isError: false });
    const many = await runTool('search', { text: 'hit' }, ctx);
    expect(many.output.split('\n').filter((l) => l.startsWith('many.txt:'))).toHaveLength(MAX_SEARCH_MATCHES);
    expect(many.output).toMatch(/more matches not shown/);
  });

  it('reports bad arguments and unknown tools to the model', async () => {
    const ctx = context(tempDir());
    expect(await runTool('write_file', { path: 'a' }, ctx)).toEqual({ output: 'Expected `content` to be a string, got nothing', isError: true });
    expect((await runTool('delete_everything', {}, ctx)).output).toMatch(/^Unknown tool "delete_everything"/);
    expect((await runTool('run_command', { argv: 'rm -rf /' }, ctx)).output).toMatch(/^Expected `argv` to be a non-empty array of strings/);
  });
});

describe('run_command', () => {
  it('runs argv without a shell in the working directory', async () => {
    const root = tempDir();
    const outcome = await runTool('run_command', { argv: [process.execPath, '-e', 'console.log(process.cwd(), process.argv[1])', '$(touch pwned); *'] }, context(root));
    expect(outcome).toEqual({ output: `Exit code 0\n${createWorkspace(root).root} $(touch pwned); *\n`, isError: false });
    expect(readdirSync(root)).toEqual([]);
  });

  it('reports a non-zero exit and a missing program as errors', async () => {
    const ctx = context(tempDir());
    expect(await runTool('run_command', { argv: [process.execPath, '-e', 'process.exit(3)'] }, ctx)).toEqual({ output: 'Exit code 3', isError: true });
    expect((await runTool('run_command', { argv: ['no-such-program-kage'] }, ctx)).output).toMatch(/^Could not run "no-such-program-kage": .*ENOENT/);
  });

  it('kills a program at its timeout', async () => {
    const started = Date.now();
    const outcome = await runTool('run_command', { argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], timeout_seconds: 0.3 }, context(tempDir()));
    expect(outcome).toEqual({ output: 'Killed after the 0.3 s timeout', isError: true });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps the start and the end of a long output', async () => {
    const script = "process.stdout.write('BEGIN' + 'x'.repeat(200000) + 'END')";
    const outcome = await runTool('run_command', { argv: [process.execPath, '-e', script] }, context(tempDir()));
    expect(outcome.output.length).toBeLessThan(40_000);
    expect(outcome.output).toMatch(/^Exit code 0\nBEGIN/);
    expect(outcome.output).toMatch(/bytes of output dropped/);
    expect(outcome.output.endsWith('END')).toBe(true);
  });
});
