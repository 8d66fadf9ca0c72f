// Integration: runs the compiled fake agent as a real child process in temp directories and feeds its
// stdout to the real Claude stream parser.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentInput, eventsOfKind, runParsed, tempDir } from '../../test/support/agent-fixtures.js';
import type { AgentEvent } from '../domain/index.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { DEMO_BUG_FILE, DEMO_BUGGY_LINE, DEMO_FIXED_LINE, DEMO_MATH_JS, DEMO_README, DEMO_REPO_FILES } from './demo-repo-files.js';
import { fakeAdapter, fakeAgentPath } from './fake.js';

const AGENT = fakeAgentPath();

const CLAUDE_PARSER = { createParser: createClaudeStreamParser };
const run = (argv: readonly string[], cwd: string, env?: NodeJS.ProcessEnv) => runParsed(argv, { cwd, env, parser: CLAUDE_PARSER });
const fake = (args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv) => run([process.execPath, AGENT, ...args], cwd, env);
const kinds = (events: AgentEvent[]) => events.map((e) => e.kind);

describe('fake agent', () => {
  it('writes the default file for `ok` through the adapter command, reported as Claude events', async () => {
    const dir = tempDir();
    const command = fakeAdapter.buildCommand(agentInput({ prompt: 'write it', worktree: dir, home: dir }));
    const result = await run(command.argv, dir);
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'kage-fake.txt'), 'utf8')).toBe('hello from fake\n');
    expect(kinds(result.events)).toEqual(['session', 'tool_use', 'tool_result', 'message', 'usage', 'result']);
    expect(eventsOfKind(result.events, 'session')[0]?.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(eventsOfKind(result.events, 'tool_use')[0]).toMatchObject({ name: 'Write', input: { file_path: path.join(dir, 'kage-fake.txt') } });
    expect(eventsOfKind(result.events, 'usage')[0]).toEqual({
      kind: 'usage',
      usage: { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0.0081,
      cumulative: true,
    });
    expect(eventsOfKind(result.events, 'result')[0]).toMatchObject({ ok: true, text: 'Done. I wrote kage-fake.txt.' });
  });

  it('writes --file with --content in a new subdirectory and reports --tokens totals', async () => {
    const dir = tempDir();
    const result = await fake(['-p', 'x', '--behaviour', 'write', '--file', 'deep/er/out.txt', '--content', 'abc', '--tokens', '10000'], dir);
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'deep/er/out.txt'), 'utf8')).toBe('abc');
    expect(eventsOfKind(result.events, 'usage')[0]?.usage).toMatchObject({ inputTokens: 8000, outputTokens: 2000 });
  });

  it('fixes the demo repository so its tests pass', async () => {
    const dir = tempDir(DEMO_REPO_FILES);
    expect(spawnSync(process.execPath, ['--test'], { cwd: dir }).status).not.toBe(0);
    const result = await fake(['-p', 'Fix add', '--behaviour', 'fix'], dir);
    expect(result.code).toBe(0);
    const math = readFileSync(path.join(dir, DEMO_BUG_FILE), 'utf8');
    expect(math).toBe(DEMO_MATH_JS.replace(DEMO_BUGGY_LINE, DEMO_FIXED_LINE));
    expect(eventsOfKind(result.events, 'tool_use').map((e) => e.name)).toEqual(['Read', 'Edit']);
    expect(eventsOfKind(result.events, 'tool_use')[1]?.input).toMatchObject({ old_string: DEMO_BUGGY_LINE, new_string: DEMO_FIXED_LINE });
    expect(eventsOfKind(result.events, 'result')[0]?.ok).toBe(true);
    expect(spawnSync(process.execPath, ['--test'], { cwd: dir }).status).toBe(0);
  });

  it('reports an API error with its status, a failed result and exit code 1 for `error`', async () => {
    const dir = tempDir();
    const result = await fake(['-p', 'x', '--behaviour', 'error'], dir);
    expect(result.code).toBe(1);
    expect(eventsOfKind(result.events, 'error')).toEqual([{ kind: 'error', message: 'API Error: 400 fake 400 error', status: 400, errorKind: 'api' }]);
    expect(eventsOfKind(result.events, 'result')[0]?.ok).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a chosen error status for `error`', async () => {
    const result = await fake(['-p', 'x', '--behaviour', 'error', '--error-status', '529'], tempDir());
    expect(eventsOfKind(result.events, 'error')[0]).toMatchObject({ status: 529, errorKind: 'overloaded' });
  });

  it('edits README.md and claims success for `wrong`, leaving the bug in place', async () => {
    const dir = tempDir(DEMO_REPO_FILES);
    const result = await fake(['-p', 'x', '--behaviour', 'wrong'], dir);
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).not.toBe(DEMO_README);
    expect(readFileSync(path.join(dir, DEMO_BUG_FILE), 'utf8')).toBe(DEMO_MATH_JS);
    expect(eventsOfKind(result.events, 'result')[0]?.ok).toBe(true);
  });

  it('changes nothing for `noop`, whatever the prompt says', async () => {
    const dir = tempDir(DEMO_REPO_FILES);
    const result = await fake(['-p', '$(touch pwned) `touch pwned2`; touch pwned3', '--behaviour', 'noop'], dir);
    expect(result.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'package.json', 'src', 'test']);
    expect(eventsOfKind(result.events, 'result')[0]).toMatchObject({ ok: true, text: 'I looked at the code and found nothing to change.' });
  });

  it('takes the behaviour from KAGE_FAKE_BEHAVIOUR when no flag is given', async () => {
    const dir = tempDir();
    const result = await fake(['-p', 'x'], dir, { KAGE_FAKE_BEHAVIOUR: 'noop' });
    expect(readdirSync(dir)).toEqual([]);
    expect(eventsOfKind(result.events, 'result')[0]?.ok).toBe(true);
  });

  it('dies mid-stream with exit 1 and no result for `crash`', async () => {
    const result = await fake(['-p', 'x', '--behaviour', 'crash'], tempDir());
    expect(result.code).toBe(1);
    expect(result.stdout.endsWith('\n')).toBe(false);
    expect(kinds(result.events)).toEqual(['session', 'message']);
  });

  it('prints more than --flood-bytes, with one very long line, then a result for `flood`', async () => {
    const result = await fake(['-p', 'x', '--behaviour', 'flood', '--flood-bytes', '300000'], tempDir());
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(300_000);
    expect(Math.max(...result.stdout.split('\n').map((l) => l.length))).toBeGreaterThanOrEqual(150_000);
    expect(eventsOfKind(result.events, 'result')).toHaveLength(1);
  });

  it.each([['../escape.txt'], ['/tmp/kage-fake-absolute.txt'], ['link/inside.txt']])('refuses to write %s outside the working directory', async (file) => {
    const dir = tempDir();
    const outside = tempDir();
    symlinkSync(outside, path.join(dir, 'link'));
    const result = await fake(['-p', 'x', '--behaviour', 'write', '--file', file], dir);
    expect(result.code).toBe(2);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(dir)).toEqual(['link']);
    expect(statSync('/tmp/kage-fake-absolute.txt', { throwIfNoEntry: false })).toBeUndefined();
    expect(eventsOfKind(result.events, 'result')[0]?.ok).toBe(false);
  });

  it('starts a child in its process group for `hang`, and both die when the group is killed', async () => {
    const child = spawn(process.execPath, [AGENT, '-p', 'x', '--behaviour', 'hang'], { cwd: tempDir(), detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let out = '';
    const grandchildPid = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const match = /"subtype":"fake_child","pid":(\d+)/.exec(out);
        if (match?.[1] !== undefined) resolve(Number(match[1]));
      });
      child.on('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    // A killed process stays a zombie until its new parent reaps it; on Linux, count zombies as dead.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
      } catch {
        return false;
      }
      const stat = statSync(`/proc/${pid}/stat`, { throwIfNoEntry: false }) && readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !stat || !/\) Z /.test(stat);
    };
    expect(alive(grandchildPid)).toBe(true);
    process.kill(-(child.pid ?? 0), 'SIGKILL');
    await exited;
    await expect.poll(() => alive(grandchildPid), { timeout: 5_000 }).toBe(false);
  });

  it('waits --delay-ms between events for `slow`', async () => {
    const started = Date.now();
    const result = await fake(['-p', 'x', '--behaviour', 'slow', '--delay-ms', '50'], tempDir());
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 50);
  });

  it('prints a version and rejects unknown behaviours', async () => {
    const dir = tempDir();
    expect((await fake(['--version'], dir)).stdout).toMatch(/^\d+\.\d+\.\d+/);
    const bad = await fake(['-p', 'x', '--behaviour', 'explode'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown behaviour "explode"');
  });
});
