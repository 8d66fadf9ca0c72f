// The `ollama` agent end to end: the real API worker, run by the real clone runner, against a scripted
// mock Ollama server, in real git repositories and a real PostgreSQL database.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalTask, type CloneRecord, type TaskRecord } from '../src/domain/index.js';
import type { Kage } from '../src/main/app.js';
import { COMMIT_CONFIG, runGit } from '../src/workspace/git.js';
import { freshDatabase, makeRepo, openKage, tempDir, waitFor } from './support/harness.js';
import { startMockOllama, writeFileScenario, type MockOllama } from './support/mock-ollama.js';

let kage: Kage;
let home: string;
let mock: MockOllama;
const extraMocks: MockOllama[] = [];

beforeAll(async () => {
  mock = await startMockOllama(writeFileScenario('hello.txt', 'hello from the model\n'));
  home = tempDir('home');
  // OLLAMA_HOST reaches the agent through the default environment allowlist.
  kage = await openKage({ databaseUrl: await freshDatabase(), home, env: { OLLAMA_HOST: mock.url } });
  await kage.runtime.start(4);
});

afterAll(async () => {
  await kage?.close();
  await Promise.all([mock, ...extraMocks].map((m) => m?.close()));
});

async function finished(taskId: string, timeoutMs = 45_000): Promise<TaskRecord> {
  return waitFor(`task ${taskId} to finish`, async () => {
    const task = await kage.ctx.store.getTask(taskId);
    return task && isTerminalTask(task.status) ? task : undefined;
  }, timeoutMs);
}

async function onlyClone(taskId: string): Promise<CloneRecord> {
  const [clone] = await kage.ctx.store.getClones(taskId);
  if (!clone) throw new Error(`task ${taskId} has no clone`);
  return clone;
}

async function eventsOf(taskId: string, type: string): Promise<Record<string, unknown>[]> {
  return (await kage.ctx.store.listEvents(taskId)).filter((e) => e.type === type).map((e) => e.payload);
}

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every file named `name` under `dir`. */
function filesNamed(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.name === name && !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

describe('the ollama agent', () => {
  it('writes the scenario file through its write_file tool, succeeds, merges and records the mock usage', async () => {
    const repo = await makeRepo();
    const { task } = await kage.tasks.createTask({
      description: 'Create hello.txt saying hello',
      repo,
      clones: [{ agent: 'ollama', model: 'mock-coder:1b' }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    expect(done.mergeStatus).toBe('merged');
    const clone = await onlyClone(task.id);
    expect(clone).toMatchObject({ status: 'succeeded', retries: 0, error: null });
    expect(execFileSync('git', ['show', `${done.mergeCommit}:hello.txt`], { cwd: repo, encoding: 'utf8' })).toBe('hello from the model\n');
    expect(readFileSync(join(repo, 'hello.txt'), 'utf8')).toBe('hello from the model\n');

    expect(mock.usageSent()).toEqual({ inputTokens: 300, outputTokens: 42 });
    expect(clone.usage).toEqual({ inputTokens: 300, outputTokens: 42, cacheReadTokens: 0, cacheWriteTokens: 0 });

    const chats = mock.requests.filter((r) => r.path === '/api/chat');
    expect(chats).toHaveLength(2);
    expect(chats[0]!.body).toMatchObject({ model: 'mock-coder:1b', stream: true });
    expect(chats[0]!.body.tools.map((t: any) => t.function.name)).toEqual(['read_file', 'write_file', 'edit_file', 'list_files', 'search', 'run_command']);
    expect(chats[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: 'Create hello.txt saying hello' });
    expect(chats[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_name: 'write_file', content: 'Wrote 21 bytes to hello.txt' });

    expect(await eventsOf(task.id, 'agent_tool_use')).toEqual([
      expect.objectContaining({ name: 'write_file', input: { path: 'hello.txt', content: 'hello from the model\n' } }),
    ]);
    expect(await eventsOf(task.id, 'agent_result')).toEqual([expect.objectContaining({ ok: true, text: 'Created hello.txt.', numTurns: 2 })]);
  });

  it('refuses paths that escape the worktree as tool errors and writes nothing outside it', async () => {
    const outside = tempDir('outside');
    writeFileSync(join(outside, 'secret.txt'), 'top secret\n');
    const repo = await makeRepo();
    symlinkSync(outside, join(repo, 'link'));
    symlinkSync(join(outside, 'secret.txt'), join(repo, 'leak.txt'));
    await runGit(['add', '-A'], { cwd: repo });
    await runGit([...COMMIT_CONFIG, 'commit', '-q', '-m', 'symlinks out'], { cwd: repo });
    const escaper = await startMockOllama({
      replies: [
        {
          toolCalls: [
            { name: 'write_file', arguments: { path: '../x', content: 'escaped' } },
            { name: 'write_file', arguments: { path: join(outside, 'x'), content: 'escaped' } },
            { name: 'write_file', arguments: { path: 'link/x', content: 'escaped' } },
            { name: 'read_file', arguments: { path: 'leak.txt' } },
          ],
          promptEvalCount: 10,
          evalCount: 5,
        },
        { text: 'I could not write those files.', promptEvalCount: 20, evalCount: 6 },
      ],
    });
    extraMocks.push(escaper);
    const { task } = await kage.tasks.createTask({
      description: 'Try to write outside the worktree',
      repo,
      clones: [{ agent: 'ollama', options: { host: escaper.url } }],
    });
    await finished(task.id);
    expect(await onlyClone(task.id)).toMatchObject({ status: 'succeeded' });

    const results = await eventsOf(task.id, 'agent_tool_result');
    expect(results.map((r) => [r.isError, r.output])).toEqual([
      [true, 'Refusing "../x": it is outside the working directory'],
      [true, `Refusing ${JSON.stringify(join(outside, 'x'))}: it is outside the working directory`],
      [true, 'Refusing "link/x": a symbolic link leads outside the working directory'],
      [true, 'Refusing "leak.txt": a symbolic link leads outside the working directory'],
    ]);
    expect(filesNamed(home, 'x')).toEqual([]);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    // The model never saw the secret behind the symlink.
    expect(JSON.stringify(escaper.requests)).not.toContain('top secret');
    const toolMessages = escaper.requests[1]!.body.messages.filter((m: any) => m.role === 'tool');
    expect(toolMessages).toHaveLength(4);
    expect(toolMessages.every((m: any) => m.content.startsWith('Error: Refusing'))).toBe(true);
  });

  it('fails at once, without retries, when nothing listens at the Ollama address', async () => {
    const port = await closedPort();
    const repo = await makeRepo();
    const startedAt = Date.now();
    const { task } = await kage.tasks.createTask({
      description: 'Say hello',
      repo,
      maxRetries: 3,
      clones: [{ agent: 'ollama', options: { host: `127.0.0.1:${port}` } }],
    });
    const done = await finished(task.id, 10_000);
    const elapsedMs = Date.now() - startedAt;
    expect(done.status).toBe('failed');
    const clone = await onlyClone(task.id);
    expect(clone.status).toBe('failed');
    expect(clone.retries).toBe(0);
    expect(clone.error).toBe(`cannot reach Ollama at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(clone.durationMs).toBeLessThan(2_000);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(await eventsOf(task.id, 'clone_retry')).toEqual([]);
    expect(await eventsOf(task.id, 'agent_error')).toEqual([expect.objectContaining({ errorKind: 'unreachable', status: null })]);
  });

  it('fails with Ollama\'s message when the model is not found', async () => {
    const missing = await startMockOllama({ replies: [{ status: 404, error: 'model "nope:1b" not found, try pulling it first' }] });
    extraMocks.push(missing);
    const repo = await makeRepo();
    const { task } = await kage.tasks.createTask({
      description: 'Say hello',
      repo,
      maxRetries: 3,
      clones: [{ agent: 'ollama', model: 'nope:1b', options: { host: missing.url } }],
    });
    const done = await finished(task.id);
    expect(done.status).toBe('failed');
    const clone = await onlyClone(task.id);
    expect(clone).toMatchObject({ status: 'failed', retries: 0 });
    expect(clone.error).toBe('Ollama returned HTTP 404: model "nope:1b" not found, try pulling it first');
    expect(missing.requests.filter((r) => r.path === '/api/chat')).toHaveLength(1);
    expect(await eventsOf(task.id, 'agent_error')).toEqual([expect.objectContaining({ status: 404, errorKind: 'api' })]);
  });
});
