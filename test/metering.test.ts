// The gateway's metering as the clone's usage: per-clone sums read with the clones from a real PostgreSQL
// (the agent's own report kept beside them), and end to end with the genuine Claude Code CLI run by kage's
// server against the mock model server: the metered tokens equal the mock's fixed usage in the task record
// (API and `kage show`), in /metrics, and in `usage` events on the progress stream.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayRequestRecord, MeteredUsage, Usage } from '../src/domain/index.js';
import { countedTokens } from '../src/gateway/budget.js';
import { createPriceTable } from '../src/gateway/prices.js';
import { startServer, type KageServer } from '../src/main/server.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { PgStore } from '../src/store/pg-store.js';
import { freshDatabase, kageCli, makeRepo, tempDir, testConfig, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';
import { json, openSse, type SseMessage } from './support/sse-client.js';
import { matching, parseSamples, type Sample } from './support/prometheus.js';

const KEY = 'metering-test-key-0123';

function request(taskId: string, cloneId: string | null, extra: Partial<GatewayRequestRecord>): GatewayRequestRecord {
  return {
    taskId, cloneId, provider: 'anthropic', model: 'claude-sonnet-4-5', method: 'POST', path: '/v1/messages', status: 200, stream: true,
    inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, latencyMs: 10, ttfbMs: 5,
    startedAt: new Date(), error: null, ...extra,
  };
}

describe('metered usage in the store', () => {
  let store: PgStore;

  beforeAll(async () => {
    store = new PgStore(await freshDatabase(), 2);
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
  });

  it('reads each clone with the gateway\'s sums as its usage and cost, and the agent\'s own report beside them', async () => {
    const taskId = randomUUID();
    const [metered, unmetered] = [randomUUID(), randomUUID()];
    await store.createTask({ id: taskId, description: 'metering', repo: '/tmp/none', baseRef: 'main', baseCommit: '0'.repeat(40),
      checkCommand: null, setupCommand: null, mergeStrategy: 'auto', maxRetries: 0, retryDelayMs: 0, checkTimeoutMs: 1000, createdBy: null },
    [metered, unmetered].map((id, i) => ({ id, name: `c${i}`, agent: i === 0 ? 'claude-code' : 'fake', model: null, options: {},
      branch: `kage/${id}`, timeoutMs: 60_000 })));
    const reported: Usage = { inputTokens: 900, outputTokens: 90, cacheReadTokens: 9, cacheWriteTokens: 0 };
    await store.updateClone(metered, { usage: reported, costUsd: 0.5 });
    await store.updateClone(unmetered, { usage: reported, costUsd: 0.25 });
    const gateway = new PgGatewayStore(store.pool);
    await gateway.insertGatewayRequest(request(taskId, metered, { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 10, cacheWriteTokens: 20, costUsd: 0.01 }));
    await gateway.insertGatewayRequest(request(taskId, metered, { inputTokens: 2000, outputTokens: 200, cacheReadTokens: 30, cacheWriteTokens: 0, costUsd: 0.02 }));
    await gateway.insertGatewayRequest(request(taskId, metered, { status: 402, error: 'kage: token budget of 10 exhausted' }));
    await gateway.insertGatewayRequest(request(taskId, metered, { status: null, error: 'the client disconnected before forwarding' }));

    // Two answered requests, a refusal and a client gone before forwarding: the last two count as errors.
    const sums: MeteredUsage = { requests: 4, inputTokens: 3000, outputTokens: 300, cacheReadTokens: 40, cacheWriteTokens: 20, costUsd: 0.03, errors: 2 };
    const expectMetered = (c: Awaited<ReturnType<PgStore['getClone']>>): void => {
      expect(c).toMatchObject({ usageSource: 'gateway', usage: { inputTokens: 3000, outputTokens: 300, cacheReadTokens: 40, cacheWriteTokens: 20 },
        reportedUsage: reported, reportedCostUsd: 0.5 });
      expect(c!.costUsd).toBeCloseTo(0.03, 12);
      expect({ ...c!.metered, costUsd: 0 }).toEqual({ ...sums, costUsd: 0 });
    };
    const clones = await store.getClones(taskId);
    expectMetered(clones[0]!);
    expect(clones[1]).toMatchObject({ usageSource: 'agent', usage: reported, costUsd: 0.25, reportedUsage: reported, metered: null });
    expectMetered(await store.getClone(metered));
    expectMetered((await store.getClonesOfTasks([taskId])).get(taskId)![0]!);

    // Per-agent totals (`/api/v1/tasks/stats`, kage_agent_tokens_total) take the same figures.
    const stats = Object.fromEntries((await store.agentStats()).map((a) => [a.agent, a]));
    expect(stats['claude-code']!.tokens).toBe(3360);
    expect(stats['claude-code']!.costUsd).toBeCloseTo(0.03, 12);
    expect(stats.fake!.tokens).toBe(999);
  });
});

/** The sum of every sample of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return matching(samples, name, labels).reduce((n, s) => n + s.value, 0);
}

describe('metered usage of a genuine Claude Code clone', () => {
  let mock: MockModelServer;
  let server: KageServer;
  let home: string;
  let databaseUrl: string;

  const api = async (path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, text).toBeLessThan(300);
    return res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  };

  beforeAll(async () => {
    mock = await startMockModelServer();
    home = tempDir('metering-home');
    databaseUrl = await freshDatabase();
    server = await startServer(testConfig({
      databaseUrl, home,
      env: { ...mockProviderEnv(mock.url), KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: await makeRepo() },
    }));
  });

  afterAll(async () => {
    await server?.close({ graceMs: 0 });
    await mock?.close();
  });

  it('records the mock\'s usage as the clone\'s tokens and shows it in the task record, /metrics, `kage show` and usage events', async () => {
    const created = await api('/api/v1/tasks', {
      description: 'create metered.txt [[mock:write file=metered.txt]]',
      cli_assignments: [{ cli_name: 'claude-code', model: 'claude-sonnet-4-5', timeout: 120 }, { cli_name: 'fake', context: { behaviour: 'ok' } }],
      token_budget: 20_000,
      merge_strategy: 'manual',
      max_retries: 0,
    });
    const live = await openSse(`${server.url}/api/v1/tasks/${created.id}/progress`, { 'x-api-key': KEY });
    const liveEvents = await live.rest(150_000);
    expect(liveEvents.at(-1)?.event).toBe('task_complete');
    // A usage event follows each metered request while the clone runs, before it finishes.
    const firstUsage = liveEvents.findIndex((m) => m.event === 'usage');
    expect(firstUsage).toBeGreaterThan(liveEvents.findIndex((m) => m.event === 'gateway_request'));
    expect(firstUsage).toBeLessThan(liveEvents.findIndex((m) => m.event === 'clone_finished' && json(m).clone === 'claude-code'));

    const task = await api(`/api/v1/tasks/${created.id}`);
    const claude = task.clones.find((c: any) => c.agent === 'claude-code');
    const fake = task.clones.find((c: any) => c.agent === 'fake');
    expect(claude.status, claude.error ?? '').toBe('succeeded');

    // What the mock answered with, summed; Anthropic's input tokens already exclude the cached part.
    const served = mock.requests().filter((r) => r.usage !== null);
    const sum = (key: keyof Usage): number => served.reduce((n, r) => n + r.usage![key], 0);
    const mockUsage: Usage = { inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens'), cacheReadTokens: sum('cacheReadTokens'),
      cacheWriteTokens: sum('cacheWriteTokens') };
    expect(mockUsage.outputTokens).toBeGreaterThan(0);
    const rows = await new PgGatewayStore(server.kage.ctx.store.pool).listGatewayRequests(created.id);
    expect(new Set(rows.map((r) => r.model))).toEqual(new Set(['claude-sonnet-4-5']));
    // The price table is linear in tokens: the metered cost of the run is the cost of the mock's totals.
    const costUsd = createPriceTable().costUsd('claude-sonnet-4-5', mockUsage);
    expect(costUsd).toBeGreaterThan(0);

    expect(claude).toMatchObject({ usage_source: 'gateway', tokens: mockUsage, reported_tokens: mockUsage });
    expect(claude.metered).toMatchObject({ ...mockUsage, requests: mock.requests().length, errors: 0 });
    expect(claude.metered.requests).toBe(rows.length);
    expect(claude.cost).toBeCloseTo(costUsd, 12);
    expect(claude.metered.costUsd).toBeCloseTo(costUsd, 12);
    expect(fake).toMatchObject({ usage_source: 'agent', metered: null });
    expect(fake.tokens).toEqual(fake.reported_tokens);
    expect(task.metered).toEqual(claude.metered);
    expect(task.tokens.inputTokens).toBe(mockUsage.inputTokens + fake.tokens.inputTokens);
    expect(task.total_cost).toBeCloseTo(claude.cost + fake.cost, 12);

    // /metrics: this process's gateway counted the same requests, tokens and cost.
    const samples = parseSamples(await api('/metrics'));
    const anthropic = { provider: 'anthropic' };
    expect(total(samples, 'kage_gateway_requests_total', anthropic)).toBe(rows.length);
    expect(total(samples, 'kage_gateway_requests_total', { ...anthropic, status_class: '2xx' })).toBe(rows.length);
    expect(total(samples, 'kage_gateway_tokens_total', { ...anthropic, kind: 'input' })).toBe(mockUsage.inputTokens);
    expect(total(samples, 'kage_gateway_tokens_total', { ...anthropic, kind: 'output' })).toBe(mockUsage.outputTokens);
    expect(total(samples, 'kage_gateway_tokens_total', { ...anthropic, kind: 'cache_read' })).toBe(mockUsage.cacheReadTokens);
    expect(total(samples, 'kage_gateway_tokens_total', { ...anthropic, kind: 'cache_write' })).toBe(mockUsage.cacheWriteTokens);
    expect(total(samples, 'kage_gateway_cost_usd_total', anthropic)).toBeCloseTo(costUsd, 9);
    expect(total(samples, 'kage_gateway_request_duration_seconds_count', anthropic)).toBe(rows.length);
    expect(total(samples, 'kage_gateway_ttfb_seconds_count', anthropic)).toBe(rows.length);
    expect(total(samples, 'kage_agent_tokens_total', { agent: 'claude-code' }))
      .toBe(mockUsage.inputTokens + mockUsage.outputTokens + mockUsage.cacheReadTokens + mockUsage.cacheWriteTokens);

    // Replayed from the store, the clone's usage events count up to its metered totals, one per request,
    // with what is left of its half of the task's budget.
    await waitFor('a usage event per metered request', async () =>
      ((await server.kage.ctx.store.listEvents(created.id)).filter((e) => e.type === 'usage').length === rows.length ? true : undefined));
    const replay = await openSse(`${server.url}/api/v1/tasks/${created.id}/progress`, { 'x-api-key': KEY });
    const stored = await replay.rest(20_000);
    const usage = stored.filter((m: SseMessage) => m.event === 'usage').map((m) => json<{ clone_id: string; payload: any }>(m));
    expect(usage.map((u) => u.clone_id)).toEqual(rows.map((r) => r.cloneId));
    expect(usage.map((u) => u.payload.clone.requests)).toEqual(rows.map((_, i) => i + 1));
    const last = usage.at(-1)!.payload;
    expect(last.clone).toMatchObject({ ...mockUsage, requests: rows.length, errors: 0 });
    expect(last.clone.costUsd).toBeCloseTo(costUsd, 12);
    expect(last.task).toEqual(last.clone);
    const used = countedTokens(mockUsage);
    expect(last.budget).toMatchObject({ scope: 'clone', maxTokens: 10_000, usedTokens: used, remainingTokens: 10_000 - used });

    // `kage show`: the same figures in the JSON record, and in the table without the self-reported mark.
    const env = { KAGE_HOME: home, DATABASE_URL: databaseUrl, KAGE_LOG_LEVEL: 'silent' };
    const shown = await kageCli(['show', created.id, '--json'], env);
    expect(shown.code, shown.stderr).toBe(0);
    const record = JSON.parse(shown.stdout);
    const claudeRecord = record.clones.find((c: any) => c.agent === 'claude-code');
    expect(claudeRecord).toMatchObject({ usageSource: 'gateway', usage: mockUsage, reportedUsage: mockUsage,
      metered: { ...mockUsage, requests: rows.length } });
    expect(record.metered).toMatchObject({ ...mockUsage, requests: rows.length });
    const text = await kageCli(['show', created.id], env);
    const tokens = mockUsage.inputTokens + mockUsage.outputTokens + mockUsage.cacheReadTokens + mockUsage.cacheWriteTokens;
    expect(text.stdout).toMatch(new RegExp(`^claude-code\\s.*\\s${tokens}\\s+\\$[0-9.]+$`, 'm'));
    expect(text.stdout).toMatch(/^fake\s.*\s\d+\*\s+\$[0-9.]+\*$/m);
  });
});
