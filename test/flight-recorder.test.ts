// The gateway's flight recorder on real parts: kage's mock model server as the provider, a real PostgreSQL,
// real HTTP on 127.0.0.1. A recording keeps every exchange with its credentials redacted; a replay answers
// from it with the mock stopped, byte for byte, with the replaying clone's own paths; and a task run by the
// genuine Claude Code CLI and kage's OpenAI API worker through `kage run --record` replays with `kage replay`
// to the same clone statuses, branch contents, metered tokens and ranking.
import { randomUUID } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FlightGrant, GatewayRequestRecord } from '../src/domain/index.js';
import { createGateway, REPLAY_EXHAUSTED, type Gateway, type ReplayMismatch } from '../src/gateway/index.js';
import { startServer } from '../src/main/server.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { PgRecordingStore, type StoredExchange } from '../src/store/recording-store.js';
import { PgStore } from '../src/store/pg-store.js';
import { runGit } from '../src/workspace/git.js';
import { parseJson, type TaskJson } from './support/cli-json.js';
import { freshDatabase, kageCli, makeRepo, tempDir, testConfig, waitFor } from './support/harness.js';
import { mockProviderEnv } from './support/mock-env.js';

const REAL_KEYS = { anthropic: 'sk-real-anthropic-key', openai: 'sk-real-openai-key', gemini: 'real-gemini-key' };
const silent = pino({ level: 'silent' });

let databaseUrl: string;
let store: PgStore;
let recordings: PgRecordingStore;
let gatewayStore: PgGatewayStore;

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  store = new PgStore(databaseUrl, 4);
  await store.migrate();
  recordings = new PgRecordingStore(store.pool);
  gatewayStore = new PgGatewayStore(store.pool);
});

afterAll(async () => {
  await store?.close();
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(url: string, headers: Record<string, string>, body: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A stored task with one clone per name; `replayOf` makes it a replay. */
async function storedTask(names: string[], extra: { record?: boolean; replayOf?: string } = {}): Promise<{ taskId: string; clones: Record<string, string> }> {
  const taskId = randomUUID();
  const ids = names.map(() => randomUUID());
  await store.createTask({ id: taskId, description: 'flight recorder test', repo: '/tmp/none', baseRef: 'main', baseCommit: '0'.repeat(40),
    checkCommand: null, setupCommand: null, mergeStrategy: 'auto', maxRetries: 0, retryDelayMs: 0, checkTimeoutMs: 1000, createdBy: null, ...extra },
  names.map((name, i) => ({ id: ids[i]!, name, agent: 'fake', model: null, options: {}, branch: `kage/${taskId.slice(0, 8)}/${name}`, timeoutMs: 60_000 })));
  return { taskId, clones: Object.fromEntries(names.map((n, i) => [n, ids[i]!])) };
}

/** The tool arguments of a streamed Anthropic answer, as a client puts its `partial_json` fragments together. */
function anthropicToolArguments(stream: Buffer): Record<string, unknown> {
  const fragments = stream.toString().split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)))
    .filter((e) => e.type === 'content_block_delta' && e.delta.type === 'input_json_delta').map((e) => e.delta.partial_json as string);
  return JSON.parse(fragments.join('')) as Record<string, unknown>;
}

/** Every text a stored exchange holds, bodies decoded: where a credential must never show up. */
function storedText(rows: readonly StoredExchange[]): string {
  return rows.map((r) => JSON.stringify({ ...r, body: r.body.toString('utf8'), responseBody: r.responseBody.toString('utf8') })).join('\n');
}

describe('the flight recorder in the gateway', () => {
  const OLD = { workdir: '/tmp/kage-flight/worktrees/repo-1/aaaaaaaa/writer', home: '/tmp/kage-flight/homes/old-clone' };
  const NEW = { workdir: '/tmp/kage-flight/worktrees/repo-1/bbbbbbbb/writer', home: '/tmp/kage-flight/homes/new-clone' };
  const writeRequest = (workdir: string) => ({
    model: 'claude-sonnet-4-5', max_tokens: 64, stream: true,
    system: `Primary working directory: ${workdir}`,
    tools: [{ name: 'Write', input_schema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'create hello.txt [[mock:write file=hello.txt]]' }],
  });
  const chatRequest = { model: 'gpt-5-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'say hello [[mock:text]]' }] };
  const geminiRequest = { contents: [{ role: 'user', parts: [{ text: 'say hello [[mock:text]]' }] }] };

  let mock: MockModelServer;
  let gateway: Gateway;
  const metered: GatewayRequestRecord[] = [];
  const mismatches: ReplayMismatch[] = [];
  let recorded: { taskId: string; clones: Record<string, string> };
  let token: string;
  const answers: Buffer[] = [];

  beforeAll(async () => {
    mock = await startMockModelServer();
    gateway = await createGateway({
      upstreams: {
        anthropic: { baseUrl: mock.url, apiKey: REAL_KEYS.anthropic },
        openai: { baseUrl: `${mock.url}/v1`, apiKey: REAL_KEYS.openai },
        gemini: { baseUrl: mock.url, apiKey: REAL_KEYS.gemini },
      },
      store: gatewayStore, recordings, log: silent,
      onRequest: (r) => metered.push(r),
      onReplayMismatch: (_grant, m) => mismatches.push(m),
    });
    recorded = await storedTask(['writer'], { record: true });
    const flight: FlightGrant = { mode: 'record', cloneName: 'writer', attempt: 0, ...OLD, sourceTaskId: null };
    token = await gateway.issueToken({ taskId: recorded.taskId, cloneId: recorded.clones.writer!, flight });
    answers.push((await send(`${gateway.url}/anthropic/v1/messages?beta=true`, { 'x-api-key': token, cookie: 'session=abc' }, writeRequest(OLD.workdir))).body);
    answers.push((await send(`${gateway.url}/openai/v1/chat/completions`, { authorization: `Bearer ${token}` }, chatRequest)).body);
    answers.push((await send(`${gateway.url}/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${token}`, {}, geminiRequest)).body);
    await gateway.revokeToken(token);
    await waitFor('three recorded exchanges', async () => ((await recordings.listRecordings(recorded.taskId)).length === 3 ? true : undefined));
    // Nothing listens at the provider from here on: every answer below comes from the recording.
    await mock.close();
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('stores each exchange in order with the answer\'s bytes and chunks as the client got them', async () => {
    const rows = await recordings.listRecordings(recorded.taskId);
    expect(rows.map((r) => [r.seq, r.provider, r.method, r.path, r.status, r.stream])).toEqual([
      [0, 'anthropic', 'POST', '/v1/messages?beta=true', 200, true],
      [1, 'openai', 'POST', '/chat/completions', 200, true],
      [2, 'gemini', 'POST', '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=%5Bredacted%5D', 200, true],
    ]);
    rows.forEach((row, i) => {
      expect(row.responseBody.equals(answers[i]!)).toBe(true);
      expect(row.chunkSizes.reduce((a, b) => a + b, 0)).toBe(row.responseBody.length);
      expect(row.chunkOffsetsMs).toHaveLength(row.chunkSizes.length);
      expect(row).toMatchObject({ cloneId: recorded.clones.writer, cloneName: 'writer', attempt: 0, truncated: false, complete: true,
        bytes: row.responseBody.length, workdir: OLD.workdir, home: OLD.home });
    });
    expect(rows[0]!.chunkSizes.length).toBeGreaterThan(1);
    expect(JSON.parse(rows[1]!.body.toString())).toEqual(chatRequest);
    expect(rows[0]!.headers).toMatchObject({ 'x-api-key': '[redacted]', cookie: '[redacted]', 'content-type': 'application/json' });
    expect(rows[1]!.headers.authorization).toBe('[redacted]');
    expect(rows[0]!.responseHeaders['content-type']).toMatch(/text\/event-stream/);
  });

  it('never stores the clone\'s token or a real provider key', async () => {
    const text = storedText(await recordings.listRecordings(recorded.taskId));
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4));
    expect(text).not.toMatch(/kgw_/);
    for (const key of Object.values(REAL_KEYS)) expect(text).not.toContain(key);
    expect(text).not.toContain('session=abc');
  });

  it('replays the recording with the provider gone: the same bytes in order, the new worktree in tool calls, the same metered usage', async () => {
    const replay = await storedTask(['writer'], { replayOf: recorded.taskId });
    const flight: FlightGrant = { mode: 'replay', cloneName: 'writer', attempt: 0, ...NEW, sourceTaskId: recorded.taskId };
    const own = await gateway.issueToken({ taskId: replay.taskId, cloneId: replay.clones.writer!, flight });
    const before = mismatches.length;

    const write = await send(`${gateway.url}/anthropic/v1/messages?beta=true`, { 'x-api-key': own }, writeRequest(NEW.workdir));
    expect(write.status).toBe(200);
    expect(anthropicToolArguments(write.body)).toEqual({ file_path: `${NEW.workdir}/hello.txt`, content: 'hello from mock\n' });
    expect(anthropicToolArguments(answers[0]!)).toEqual({ file_path: `${OLD.workdir}/hello.txt`, content: 'hello from mock\n' });
    expect(write.body.toString().split(NEW.workdir).join(OLD.workdir)).toBe(answers[0]!.toString());
    const chat = await send(`${gateway.url}/openai/v1/chat/completions`, { authorization: `Bearer ${own}` }, chatRequest);
    expect(chat.body.equals(answers[1]!)).toBe(true);
    const gemini = await send(`${gateway.url}/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { 'x-goog-api-key': own }, geminiRequest);
    expect(gemini.body.equals(answers[2]!)).toBe(true);
    expect(mismatches.slice(before)).toEqual([]);

    const usage = (rows: GatewayRequestRecord[]) => rows.map((r) => [r.provider, r.path, r.status, r.stream, r.model, r.inputTokens,
      r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.costUsd]);
    const originals = await waitFor('the recorded run\'s metered rows', async () => {
      const rows = await gatewayStore.listGatewayRequests(recorded.taskId);
      return rows.length === 3 ? rows : undefined;
    });
    const replayed = await waitFor('the replay\'s metered rows', async () => {
      const rows = await gatewayStore.listGatewayRequests(replay.taskId);
      return rows.length === 3 ? rows : undefined;
    });
    const byPath = (a: GatewayRequestRecord, b: GatewayRequestRecord) => a.path.localeCompare(b.path);
    expect(usage(replayed.sort(byPath))).toEqual(usage(originals.sort(byPath)));
    expect(originals.every((r) => r.inputTokens > 0)).toBe(true);

    // Past the end of the recording: a provider-shaped 409, and a mismatch event.
    const past = await send(`${gateway.url}/anthropic/v1/messages?beta=true`, { 'x-api-key': own }, writeRequest(NEW.workdir));
    expect(past.status).toBe(409);
    expect(past.headers['x-kage-gateway-error']).toBe(REPLAY_EXHAUSTED);
    expect(JSON.parse(past.body.toString())).toEqual({ type: 'error', error: { type: 'invalid_request_error',
      message: 'kage replay: the recording of clone writer (attempt 1) has no more exchanges for POST /v1/messages?beta=true (3 of 3 used)' } });
    expect(mismatches.slice(before)).toEqual([expect.objectContaining({ reason: 'exhausted', clone: 'writer', seq: null, recorded: 3, used: 3 })]);
    await gateway.revokeToken(own);
  });

  it('answers a request that differs from the recorded one by sequence all the same, and reports the mismatch', async () => {
    const replay = await storedTask(['other'], { replayOf: recorded.taskId });
    const flight: FlightGrant = { mode: 'replay', cloneName: 'writer', attempt: 0, ...NEW, sourceTaskId: recorded.taskId };
    const own = await gateway.issueToken({ taskId: replay.taskId, cloneId: replay.clones.other!, flight });
    const before = mismatches.length;
    const changed = { ...writeRequest(NEW.workdir), messages: [{ role: 'user', content: 'create goodbye.txt instead' }] };
    const reply = await send(`${gateway.url}/anthropic/v1/messages?beta=true`, { 'x-api-key': own }, changed);
    expect(reply.status).toBe(200);
    expect(anthropicToolArguments(reply.body)).toEqual({ file_path: `${NEW.workdir}/hello.txt`, content: 'hello from mock\n' });
    const [mismatch] = mismatches.slice(before);
    expect(mismatch).toMatchObject({ reason: 'request', clone: 'writer', provider: 'anthropic', method: 'POST', path: '/v1/messages?beta=true',
      seq: 0, recorded: 3, used: 1 });
    expect(mismatch!.difference!.replayed).toContain('goodbye');
    expect(mismatch!.difference!.recorded).toContain('hello.txt');
    const events = await waitFor('the mismatch answer metered', async () => {
      const rows = await gatewayStore.listGatewayRequests(replay.taskId);
      return rows.length === 1 ? rows : undefined;
    });
    expect(events[0]).toMatchObject({ status: 200, error: null });
    await gateway.revokeToken(own);
  });
});

describe('replay timing', () => {
  it('streams a replay as fast as the client reads by default, and with the recorded gaps between chunks when asked', async () => {
    const mock = await startMockModelServer();
    const open = (replayTiming: 'fast' | 'recorded') => createGateway({ upstreams: { anthropic: { baseUrl: mock.url, apiKey: REAL_KEYS.anthropic } },
      store: gatewayStore, recordings, log: silent, replayTiming });
    const [fast, timed] = [await open('fast'), await open('recorded')];
    try {
      const recorded = await storedTask(['slow'], { record: true });
      const body = { model: 'claude-sonnet-4-5', max_tokens: 16, stream: true, messages: [{ role: 'user', content: '[[mock:slow delayMs=80]] go' }],
        tools: [{ name: 'Write', input_schema: { properties: { file_path: {}, content: {} } } }] };
      const flight: FlightGrant = { mode: 'record', cloneName: 'slow', attempt: 0, workdir: null, home: null, sourceTaskId: null };
      const token = await fast.issueToken({ taskId: recorded.taskId, cloneId: recorded.clones.slow!, flight });
      const original = await send(`${fast.url}/anthropic/v1/messages`, { 'x-api-key': token }, body);
      await fast.revokeToken(token);
      const [row] = await waitFor('the recorded slow answer', async () => {
        const rows = await recordings.listRecordings(recorded.taskId);
        return rows.length === 1 ? rows : undefined;
      });
      expect(row!.chunkOffsetsMs.at(-1)!).toBeGreaterThanOrEqual(5 * 80);
      await mock.close();

      const replayWith = async (gateway: Gateway) => {
        const replay = await storedTask(['slow'], { replayOf: recorded.taskId });
        const own = await gateway.issueToken({ taskId: replay.taskId, cloneId: replay.clones.slow!, flight: { ...flight, mode: 'replay', sourceTaskId: recorded.taskId } });
        const started = performance.now();
        const reply = await send(`${gateway.url}/anthropic/v1/messages`, { 'x-api-key': own }, body);
        return { reply, elapsedMs: performance.now() - started };
      };
      const quick = await replayWith(fast);
      const paced = await replayWith(timed);
      expect(quick.reply.body.equals(original.body)).toBe(true);
      expect(paced.reply.body.equals(original.body)).toBe(true);
      expect(quick.elapsedMs).toBeLessThan(row!.chunkOffsetsMs.at(-1)! / 2);
      expect(paced.elapsedMs).toBeGreaterThanOrEqual(row!.chunkOffsetsMs.at(-1)! - 20);
    } finally {
      await fast.close();
      await timed.close();
      await mock.close();
    }
  });
});

describe('kage run --record, then kage replay', () => {
  /** `kage run --json` and `kage replay --json`: the task record with its clones. */
  type CloneView = TaskJson['clones'][number] & { rank: number | null; score: number | null; diff: { files: string[] } | null;
    metered: Record<string, number> | null; usage: Record<string, number> };
  type Finished = Omit<TaskJson, 'clones'> & { record: boolean; replayOf: string | null; baseCommit: string; clones: CloneView[] };

  it('replays a recorded run of Claude Code and the OpenAI API worker, with the mock model server stopped, to the same result', async () => {
    const mock = await startMockModelServer();
    const repo = await makeRepo();
    const env = { KAGE_HOME: tempDir('flight-home'), DATABASE_URL: databaseUrl, KAGE_AGENTS_DIR: inject('agentsDir'), KAGE_LOG_LEVEL: 'warn',
      ...mockProviderEnv(mock.url) };
    let first: Finished;
    try {
      const run = await kageCli(['run', 'create hello.txt [[mock:write file=hello.txt]]', '--repo', repo, '--agent', 'claude-code',
        '--agent', 'openai-api:mock-model', '--check', 'test -f hello.txt', '--merge', 'auto', '--retries', '0', '--timeout', '120',
        '--record', '--json'], env, { timeoutMs: 240_000 });
      first = parseJson<Finished>(run, 'kage run --record --json');
      expect(run.code, run.stderr).toBe(0);
    } finally {
      await mock.close();
    }
    expect(first).toMatchObject({ status: 'completed', record: true, replayOf: null, mergeStatus: 'merged' });
    expect(first.clones.map((c) => [c.name, c.status])).toEqual([['claude-code', 'succeeded'], ['openai-api', 'succeeded']]);

    const counts = await recordings.countRecordings(first.id);
    expect(counts.get('claude-code')).toBeGreaterThan(0);
    expect(counts.get('openai-api')).toBeGreaterThan(0);
    const text = storedText(await recordings.listRecordings(first.id));
    expect(text).not.toMatch(/kgw_/);
    expect(text).not.toContain('sk-mock-anthropic');
    expect(text).not.toContain('sk-mock-openai');

    const replay = await kageCli(['replay', first.id.slice(0, 8), '--json'], env, { timeoutMs: 240_000 });
    const second = parseJson<Finished>(replay, 'kage replay --json');
    expect(replay.code, replay.stderr).toBe(0);
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ status: first.status, replayOf: first.id, record: false, baseCommit: first.baseCommit,
      bestClone: first.bestClone });

    const view = (c: CloneView) => ({ name: c.name, status: c.status, rank: c.rank, score: c.score, files: c.diff?.files,
      usage: c.usage, metered: c.metered });
    expect(second.clones.map(view)).toEqual(first.clones.map(view));
    for (const clone of first.clones) expect(clone.metered?.requests).toBe(counts.get(clone.name));

    for (const [a, b] of first.clones.map((c, i) => [c, second.clones[i]!] as const)) {
      const diffOf = async (c: typeof a) => (await runGit(['diff', first.baseCommit, c.headCommit!], { cwd: repo })).stdout;
      const [recordedDiff, replayedDiff] = [await diffOf(a), await diffOf(b)];
      expect(replayedDiff).toBe(recordedDiff);
      expect(recordedDiff).toContain('+hello from mock');
      expect((await runGit(['show', `${b.headCommit}:hello.txt`], { cwd: repo })).stdout).toBe('hello from mock\n');
    }

    const events = await store.listEvents(second.id);
    expect(events.filter((e) => e.type === 'replay_mismatch').map((e) => e.payload)).toEqual([]);
    expect(events.filter((e) => e.type === 'gateway_request')).toHaveLength([...counts.values()].reduce((a, b) => a + b, 0));

    // `kage clean --recordings` deletes the recording; a replay is then refused, clearly, before anything runs.
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const clean = await kageCli(['clean', '--recordings'], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`${total} recorded exchange(s)`);
    expect(await recordings.listRecordings(first.id)).toEqual([]);
    const refused = await kageCli(['replay', first.id.slice(0, 8)], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('KAGE_NO_RECORDING');
  });
});

describe('the API', () => {
  const KEY = 'flight-test-key-0123';

  async function api(base: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } });
    return { status: res.status, body: await res.json() };
  }

  it('creates a recording task with `record`, replays it with POST /tasks/{id}/replay, and refuses what cannot be replayed', async () => {
    const mock = await startMockModelServer();
    const repo = await makeRepo();
    const server = await startServer(testConfig({ databaseUrl: await freshDatabase(),
      env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: repo, ...mockProviderEnv(mock.url) } }));
    const finished = (id: string) => waitFor(`task ${id} to finish`, async () => {
      const { body } = await api(server.url, `/api/v1/tasks/${id}`);
      return ['completed', 'failed', 'cancelled'].includes(body.status) ? body : undefined;
    }, 120_000);
    try {
      const bad = await api(server.url, '/api/v1/tasks', { description: 'create hello.txt please', cli_assignments: [{ cli_name: 'fake' }], record: 'yes' });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'record' });

      const created = await api(server.url, '/api/v1/tasks', { description: 'create hello.txt [[mock:write file=hello.txt]]',
        cli_assignments: [{ cli_name: 'claude-code', timeout: 120 }], max_retries: 0, merge_strategy: 'manual', record: true });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ record: true, replay_of: null });
      const recorded = await finished(created.body.id);
      await mock.close();

      const replay = await api(server.url, `/api/v1/tasks/${recorded.id}/replay`, {});
      expect(replay.status, JSON.stringify(replay.body)).toBe(201);
      expect(replay.body).toMatchObject({ record: false, replay_of: recorded.id, merge_strategy: 'manual', description: recorded.description });
      const replayed = await finished(replay.body.id);
      const outcome = (t: any) => ({ status: t.kage_status, best: t.best_cli, clones: t.clones.map((c: any) => [c.name, c.status, c.files_modified, c.tokens, c.rank]) });
      expect(outcome(replayed)).toEqual(outcome(recorded));
      expect(recorded.clones[0].files_modified).toEqual(['hello.txt']);

      const plain = await api(server.url, '/api/v1/tasks', { description: 'a task nobody recorded', cli_assignments: [{ cli_name: 'fake', context: { behaviour: 'noop' } }] });
      expect(plain.body.record).toBe(false);
      await finished(plain.body.id);
      const refused = await api(server.url, `/api/v1/tasks/${plain.body.id}/replay`, {});
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'KAGE_NO_RECORDING', field: 'id' });
      const missing = await api(server.url, `/api/v1/tasks/${randomUUID()}/replay`, {});
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('KAGE_TASK_NOT_FOUND');
    } finally {
      await server.close({ graceMs: 0 });
      await mock.close();
    }
  });
});
