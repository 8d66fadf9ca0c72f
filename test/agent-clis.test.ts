// The genuine agent CLIs (installed from npm at their pinned versions by the test setup), each run as a kage
// clone against kage's scripted mock model server on 127.0.0.1: real processes, real worktrees, real
// PostgreSQL. Nothing here talks to anything but loopback.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalTask, type CloneRecord, type TaskRecord } from '../src/domain/index.js';
import type { Kage } from '../src/main/app.js';
import { startMockModelServer, type MockModelServer, type MockRequestRecord } from '../src/mock-model/index.js';
import { isProcessGroupAlive } from '../src/process/supervisor.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { runGit } from '../src/workspace/git.js';
import { freshDatabase, makeRepo, openKage, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';

const REAL_KEYS = ['sk-mock-anthropic', 'sk-mock-openai', 'mock-gemini-key'];

/** Every file under `dir` that contains any of `needles`. */
function filesContaining(dir: string, needles: readonly string[]): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => {
      const text = readFileSync(file, 'latin1');
      return needles.some((n) => text.includes(n));
    });
}

/** Each CLI with the model it is asked for: a named model keeps Gemini CLI from its router side call. */
const CLIS = [
  { agent: 'claude-code', model: null, protocol: 'anthropic' },
  { agent: 'codex', model: 'mock-model', protocol: 'openai-responses' },
  { agent: 'gemini-cli', model: 'gemini-2.5-flash', protocol: 'gemini' },
  { agent: 'opencode', model: 'mock-model', protocol: 'openai-chat' },
  { agent: 'qwen-code', model: 'mock-model', protocol: 'openai-chat' },
] as const;

let mock: MockModelServer;
let kage: Kage;

beforeAll(async () => {
  mock = await startMockModelServer();
  kage = await openKage({
    databaseUrl: await freshDatabase(),
    env: mockProviderEnv(mock.url),
  });
  await kage.runtime.start(8);
});

afterAll(async () => {
  await kage?.close();
  await mock?.close();
});

interface Finished {
  task: TaskRecord;
  clones: CloneRecord[];
}

async function runTask(description: string, clones: { agent: string; model: string | null; timeoutSeconds?: number }[],
  extra: { checkCommand?: string; timeoutMs?: number } = {}): Promise<Finished> {
  const repo = await makeRepo();
  const { task } = await kage.tasks.createTask({
    description,
    repo,
    maxRetries: 0,
    mergeStrategy: 'auto',
    ...(extra.checkCommand ? { checkCommand: extra.checkCommand } : {}),
    clones: clones.map((c) => ({ agent: c.agent, ...(c.model ? { model: c.model } : {}), timeoutSeconds: c.timeoutSeconds ?? 120 })),
  });
  const done = await waitFor(`task ${description} to finish`, async () => {
    const t = await kage.ctx.store.getTask(task.id);
    return t && isTerminalTask(t.status) ? t : undefined;
  }, extra.timeoutMs ?? 180_000);
  return { task: done, clones: await kage.ctx.store.getClones(task.id) };
}

async function fileOn(repo: string, rev: string, path: string): Promise<string | null> {
  const out = await runGit(['show', `${rev}:${path}`], { cwd: repo, allowFail: true });
  return out.code === 0 ? out.stdout : null;
}

/** What the mock answered with, summed, the way kage records usage: input without the cached part. */
function mockTotals(requests: MockRequestRecord[], protocol: string) {
  const served = requests.filter((r) => r.usage !== null);
  const sum = (key: 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens') =>
    served.reduce((n, r) => n + r.usage![key], 0);
  const cachedInsideInput = protocol !== 'anthropic';
  return {
    inputTokens: sum('inputTokens') - (cachedInsideInput ? sum('cacheReadTokens') : 0),
    outputTokens: sum('outputTokens'),
    cacheReadTokens: sum('cacheReadTokens'),
    // Only Anthropic's protocol reports cache writes.
    cacheWriteTokens: protocol === 'anthropic' ? sum('cacheWriteTokens') : 0,
  };
}

describe.each(CLIS)('$agent', ({ agent, model, protocol }) => {
  it('writes the scenario file in its own worktree through its own tool, and kage records the mock\'s usage', async () => {
    mock.clearRequests();
    const file = `hello-${agent}.txt`;
    const { task, clones } = await runTask(`create ${file} [[mock:write file=${file}]]`, [{ agent, model }]);
    const clone = clones[0]!;
    expect(clone.status, clone.error ?? '').toBe('succeeded');
    expect(clone.headCommit).not.toBeNull();
    expect(await fileOn(task.repo, clone.headCommit!, file)).toBe('hello from mock\n');
    expect(task.mergeStatus).toBe('merged');
    expect(await fileOn(task.repo, 'main', file)).toBe('hello from mock\n');

    const requests = mock.requests().filter((r) => r.protocol !== null);
    expect(requests.map((r) => r.tool).filter(Boolean).length).toBeGreaterThan(0);
    expect(requests.every((r) => r.protocol === protocol)).toBe(true);
    expect(clone.usage).toEqual(mockTotals(requests, protocol));
    expect(clone.usage.outputTokens).toBeGreaterThan(0);
    expect(clone.sessionId).toBeTruthy();

    // Every request went through kage's gateway, which metered what the mock reported, and no real key
    // reached the agent's private HOME (its environment had only the per-clone token).
    const metered = await new PgGatewayStore(kage.ctx.store.pool).gatewayUsage(task.id);
    const { requests: _requests, cloneId: _clone, costUsd: _cost, errors: _errors, ...meteredUsage } = metered.clones[0]!;
    expect(metered.clones.map((c) => c.cloneId)).toEqual([clone.id]);
    expect(meteredUsage).toEqual(mockTotals(requests, protocol));
    expect(clone.usageSource).toBe('gateway');
    expect(clone.reportedUsage).toEqual(mockTotals(requests, protocol));
    const gatewayEvents = (await kage.ctx.store.listEvents(task.id)).filter((e) => e.type === 'gateway_request');
    expect(gatewayEvents).toHaveLength(mock.requests().length);
    expect(metered.total.requests).toBe(mock.requests().length);
    expect(filesContaining(join(kage.config.home, 'homes', clone.id), REAL_KEYS)).toEqual([]);
  });

  it('fails with the API\'s message on a 400', async () => {
    const { clones } = await runTask('do it [[mock:error400]]', [{ agent, model }]);
    const clone = clones[0]!;
    expect(clone.status).toBe('failed');
    expect(clone.error).toMatch(/400|mock 400 error/);
    expect(clone.diff?.files ?? []).toEqual([]);
  });

  it('ends within the clone\'s timeout on a 500', async () => {
    const timeoutSeconds = 15;
    const started = Date.now();
    const { clones } = await runTask('do it [[mock:error500]]', [{ agent, model, timeoutSeconds }]);
    const clone = clones[0]!;
    expect(['failed', 'timeout']).toContain(clone.status);
    if (clone.status === 'failed') expect(clone.error).toMatch(/500|mock 500 error|high demand|server/i);
    expect(Date.now() - started).toBeLessThan((timeoutSeconds + 20) * 1000);
  });

  it('is killed at its timeout with its whole process group when the model hangs', async () => {
    const { task, clones } = await runTask('do it [[mock:hang]]', [{ agent, model, timeoutSeconds: 4 }]);
    const clone = clones[0]!;
    expect(clone.status).toBe('timeout');
    const spawned = (await kage.ctx.store.listEvents(task.id)).filter((e) => e.type === 'agent_spawned');
    expect(spawned).toHaveLength(1);
    const pid = (spawned[0]!.payload as { pid: number }).pid;
    expect(pid).toBeGreaterThan(0);
    expect(isProcessGroupAlive(pid)).toBe(false);
  });
});

describe('all agents on one task', () => {
  it('runs every CLI plus ollama and openai-api in parallel, judges them and merges the best', async () => {
    const clones = [
      ...CLIS.map(({ agent, model }) => ({ agent, model })),
      { agent: 'ollama', model: 'mock-model' },
      { agent: 'openai-api', model: 'mock-model' },
    ];
    const { task, clones: done } = await runTask('create all.txt [[mock:write file=all.txt]]', clones, {
      checkCommand: 'test -f all.txt',
    });
    expect(Object.fromEntries(done.map((c) => [c.agent, c.status]))).toEqual(Object.fromEntries(clones.map((c) => [c.agent, 'succeeded'])));
    expect(done.every((c) => c.checkStatus === 'passed')).toBe(true);
    expect(done.every((c) => c.rank !== null && c.score !== null)).toBe(true);
    expect(task.status).toBe('completed');
    expect(task.bestClone).not.toBeNull();
    expect(task.mergeStatus).toBe('merged');
    expect(await fileOn(task.repo, 'main', 'all.txt')).toBe('hello from mock\n');
  });
});
