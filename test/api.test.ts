// The REST API over real HTTP on loopback: v1's shapes and codes, auth, errors, merges on real repos with
// the fake agent, limits, OpenAPI, and shutdown. Each server gets its own database.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiAuth } from '../src/api/auth.js';
import { errorSchema, mergeResponseSchema, taskListSchema, taskResponseSchema } from '../src/api/schemas.js';
import { isTerminalClone } from '../src/domain/index.js';
import { startServer, type KageServer } from '../src/main/server.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { isProcessAlive } from '../src/process/supervisor.js';
import { freshDatabase, makeRepo, tempDir, testConfig, waitFor } from './support/harness.js';

const KEY = 'test-key-0123456789';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

function client(base: () => string, defaultKey: string | null) {
  return async function api(path: string, opts: { method?: string; body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? defaultKey : opts.key;
    if (key !== null) headers['x-api-key'] = key;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${base()}${path}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
}

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

const fake = (context: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ cli_name: 'fake', context, ...extra });

let server: KageServer;
let repo: string;
let mock: MockModelServer;
const api = client(() => server.url, KEY);

async function finished(id: string): Promise<any> {
  return waitFor(`task ${id} to finish`, async () => {
    const { body } = await api(`/api/v1/tasks/${id}`);
    return ['completed', 'failed', 'cancelled'].includes(body.status) ? body : undefined;
  });
}

beforeAll(async () => {
  repo = await makeRepo({ 'README.md': '# api test\n', 'shared.txt': 'base\n' });
  mock = await startMockModelServer();
  server = await startServer(testConfig({
    databaseUrl: await freshDatabase(),
    env: { KAGE_API_KEYS: `${KEY},other-key-abcdefgh`, KAGE_PORT: '0', KAGE_REPO: repo,
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-mock', GOOGLE_GEMINI_BASE_URL: mock.url, GEMINI_API_KEY: 'mock-key' },
  }));
});

afterAll(async () => {
  await server?.close({ graceMs: 0 });
  await mock?.close();
});

describe('service routes', () => {
  it('serves service info and health without a key, with the server pid', async () => {
    const info = await api('/', { key: null });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ name: 'Kage Bunshin', api_version: 'v1' });
    expect(info.body.endpoints['POST /api/v1/tasks']).toBeTruthy();
    const health = await api('/health', { key: null });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'healthy', store: 'ok', pid: process.pid });
  });

  it('answers 503 from /health when the store is gone', async () => {
    const databaseUrl = await freshDatabase();
    const doomed = await startServer(testConfig({ databaseUrl, env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0' } }), { workers: false });
    try {
      const admin = new pg.Client({ connectionString: server.kage.ctx.store.url });
      await admin.connect();
      await admin.query(`drop database ${new URL(databaseUrl).pathname.slice(1)} with (force)`);
      await admin.end();
      const health = await client(() => doomed.url, null)('/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'unhealthy', store: 'unreachable', pid: process.pid });
    } finally {
      await doomed.close({ graceMs: 0 }).catch(() => undefined);
    }
  });

  it('echoes a caller request id and makes one up otherwise', async () => {
    const given = await api('/health', { headers: { 'x-request-id': 'trace-42' } });
    expect(given.headers.get('x-request-id')).toBe('trace-42');
    const made = await api('/health');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('publishes an OpenAPI 3.1 document with the task routes, and Swagger UI', async () => {
    const doc = await api('/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\.1/);
    for (const path of ['/api/v1/tasks', '/api/v1/tasks/{id}', '/api/v1/tasks/stats', '/api/v1/tasks/{id}/merge', '/api/v1/tasks/{id}/conflicts']) {
      expect(doc.body.paths[path], path).toBeTruthy();
    }
    const body = doc.body.paths['/api/v1/tasks'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['description', 'cli_assignments']));
    const ui = await fetch(`${server.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('lists the agents', async () => {
    const { status, body } = await api('/api/v1/agents');
    expect(status).toBe(200);
    expect(body.agents.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining(['fake', 'shell', 'claude-code', 'gemini-cli', 'openai-api']));
    expect(body.removed['auto-claude']).toBe('claude-code');
    const byId = new Map(body.agents.map((a: { id: string }) => [a.id, a]));
    // The pinned CLIs are installed by the test setup, so they are found and report their pinned version.
    for (const id of ['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code']) {
      const agent = byId.get(id) as { usable: boolean; kind: string; version: string; pinned_version: string; binary_source: string };
      expect(agent).toMatchObject({ usable: true, kind: 'cli', binary_source: 'kage' });
      expect(agent.version).toBe(agent.pinned_version);
    }
    expect(byId.get('gemini-cli')).toMatchObject({ aliases: ['gemini'], provider: 'gemini', endpoint: mock.url, api_key_set: true });
    expect(byId.get('codex')).toMatchObject({ provider: 'openai', endpoint: 'https://api.openai.com/v1', api_key_set: false });
    expect(byId.get('fake')).toMatchObject({ usable: true, kind: 'builtin', binary: null, provider: null, auth: null });
    expect(byId.get('claude-code')).toMatchObject({ auth: 'gateway', own_credentials: null });
    expect(byId.get('openai-api')).toMatchObject({ kind: 'api', provider: 'openai', endpoint: 'https://api.openai.com/v1' });
    // Nothing listens at the default Ollama address here.
    expect((byId.get('ollama') as { problems: string[] }).problems.join(' ')).toMatch(/nothing listens at http:\/\/127\.0\.0\.1:11434/);
    expect(Date.parse(body.checked_at)).not.toBeNaN();
  });
});

describe('auth', () => {
  it('answers 401 with WWW-Authenticate before validating a malformed id', async () => {
    const res = await api('/api/v1/tasks/not-a-uuid', { key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('ApiKey');
    expect(res.body).toMatchObject({ detail: 'API key required. Provide X-API-Key header.', code: 'KAGE_AUTH_REQUIRED' });
    const empty = await api('/api/v1/tasks', { key: '' });
    expect(empty.status).toBe(401);
  });

  it('answers 403 for an unknown key, also before body validation', async () => {
    const res = await api('/api/v1/tasks', { key: 'nope-nope-nope', body: { description: 'x' } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ detail: 'Invalid API key', code: 'KAGE_AUTH_INVALID' });
  });

  it('accepts Authorization: Bearer and every configured key', async () => {
    expect((await api('/api/v1/tasks', { key: null, headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    expect((await api('/api/v1/tasks', { key: 'other-key-abcdefgh' })).status).toBe(200);
    expect((await api('/api/v1/tasks', { key: null, headers: { authorization: 'Bearer wrong-key-000' } })).status).toBe(403);
  });

  it('signs stream tokens bound to one task that expire', async () => {
    const config = testConfig({ databaseUrl: server.kage.ctx.store.url, env: { KAGE_API_KEYS: KEY, KAGE_STREAM_TOKEN_TTL: '0.3' } });
    const { auth } = await createApiAuth({ store: server.kage.ctx.store, config, log: pino({ level: 'silent' }) });
    const id = '0e2f4f5c-9d7e-4a53-8c1e-3b2a1f0e9d8c';
    const { token } = auth.issueStreamToken(id);
    expect(auth.verifyStreamToken(token, id)).toBe(true);
    expect(auth.verifyStreamToken(token, '1e2f4f5c-9d7e-4a53-8c1e-3b2a1f0e9d8c')).toBe(false);
    expect(auth.verifyStreamToken(`${token.slice(0, -2)}AA`, id)).toBe(false);
    // Every process on the store shares the secret: the running server accepts this process's token.
    const progress = await api(`/api/v1/tasks/${id}/progress?token=${encodeURIComponent(token)}`, { key: null });
    expect(progress.status).toBe(404);
    await waitFor('the token to expire', async () => (auth.verifyStreamToken(token, id) ? undefined : true), 5000);
    const expired = await api(`/api/v1/tasks/${id}/progress?token=${encodeURIComponent(token)}`, { key: null });
    expect(expired.status).toBe(403);
  });
});

describe('validation and errors', () => {
  const valid = { description: 'Add a greeting file to the repo', cli_assignments: [fake({ behaviour: 'noop' })] };

  it('names the field of a too short description, v1 style', async () => {
    const res = await api('/api/v1/tasks', { body: { ...valid, description: 'short' } });
    expect(res.status).toBe(422);
    expect(errorSchema.parse(res.body)).toBeTruthy();
    expect(res.body.code).toBe('KAGE_INVALID_INPUT');
    expect(res.body.field).toBe('description');
    expect(res.body.message).toContain('`description`');
    expect(res.body.detail[0]).toMatchObject({ loc: ['body', 'description'] });
  });

  it('rejects control characters, wrong types and out-of-range values with the field named', async () => {
    const control = await api('/api/v1/tasks', { body: { ...valid, description: 'Add a file\u0000 please' } });
    expect(control.status).toBe(422);
    expect(control.body.field).toBe('description');
    const timeout = await api('/api/v1/tasks', { body: { ...valid, cli_assignments: [{ cli_name: 'fake', timeout: 5 }] } });
    expect(timeout.status).toBe(422);
    expect(timeout.body.detail[0].loc).toEqual(['body', 'cli_assignments', 0, 'timeout']);
    expect(timeout.body.message).toContain('got 5');
    const type = await api('/api/v1/tasks', { body: { ...valid, max_retries: 'three' } });
    expect(type.status).toBe(422);
    expect(type.body.field).toBe('max_retries');
    const none = await api('/api/v1/tasks', { body: { ...valid, cli_assignments: [] } });
    expect(none.status).toBe(422);
    expect(none.body.field).toBe('cli_assignments');
    const long = await api('/api/v1/tasks', { body: { ...valid, description: 'x'.repeat(100_001) } });
    expect(long.status).toBe(422);
    const author = await api('/api/v1/tasks', { body: { ...valid, created_by: 'a'.repeat(256) } });
    expect(author.status).toBe(422);
    expect(author.body.field).toBe('created_by');
  });

  it('lists the valid agents for an unknown cli_name and names claude-code for auto-claude', async () => {
    const unknown = await api('/api/v1/tasks', { body: { ...valid, cli_assignments: [{ cli_name: 'nope' }] } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('KAGE_UNKNOWN_AGENT');
    expect(unknown.body.field).toBe('cli_assignments[0].cli_name');
    expect(unknown.body.message).toContain('fake');
    expect(unknown.body.message).toContain('shell');
    expect(unknown.body.valid_agents).toEqual(expect.arrayContaining(['fake', 'shell']));
    expect(unknown.body.detail[0].loc).toEqual(['body', 'cli_assignments', 0, 'cli_name']);
    const removed = await api('/api/v1/tasks', { body: { ...valid, cli_assignments: [fake({}), { cli_name: 'auto-claude' }] } });
    expect(removed.status).toBe(422);
    expect(removed.body.field).toBe('cli_assignments[1].cli_name');
    expect(removed.body.message).toContain('claude-code');
  });

  it('accepts v1\'s agent names claude-code and gemini, and runs the genuine CLIs behind them', async () => {
    const created = await api('/api/v1/tasks', { body: {
      description: 'create v1.txt [[mock:write file=v1.txt]]',
      cli_assignments: [{ cli_name: 'claude-code' }, { cli_name: 'gemini', model: 'gemini-2.5-flash' }],
      max_retries: 0,
      merge_strategy: 'manual',
    } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await finished(created.body.id);
    expect(done.clones.map((c: { agent: string }) => c.agent).sort()).toEqual(['claude-code', 'gemini-cli']);
    expect(done.cli_results.map((r: { cli_name: string; status: string }) => [r.cli_name, r.status]).sort())
      .toEqual([['claude-code', 'success'], ['gemini-cli', 'success']]);
    expect(mock.requests().filter((r) => r.scenario === 'write').map((r) => r.protocol)).toEqual(expect.arrayContaining(['anthropic', 'gemini']));
  });

  it('rejects page_size 0 and 101, an unknown status and a bad merge strategy', async () => {
    for (const size of [0, 101]) {
      const res = await api(`/api/v1/tasks?page_size=${size}`);
      expect(res.status).toBe(422);
      expect(res.body.field).toBe('page_size');
      expect(res.body.detail[0].loc).toEqual(['query', 'page_size']);
    }
    expect((await api('/api/v1/tasks?status=bogus')).body.field).toBe('status');
    const merge = await api('/api/v1/tasks/0e2f4f5c-9d7e-4a53-8c1e-3b2a1f0e9d8c/merge?strategy=ours', { method: 'POST' });
    expect(merge.status).toBe(422);
    expect(merge.body.field).toBe('strategy');
  });

  it('answers 422 for an invalid UUID and JSON 404s for unknown tasks and routes', async () => {
    const bad = await api('/api/v1/tasks/123');
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(['path', 'id']);
    const missing = await api('/api/v1/tasks/0e2f4f5c-9d7e-4a53-8c1e-3b2a1f0e9d8c');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('KAGE_TASK_NOT_FOUND');
    expect(typeof missing.body.detail).toBe('string');
    const route = await api('/api/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body).toMatchObject({ detail: 'Not Found', code: 'KAGE_ROUTE_NOT_FOUND' });
  });

  it('answers malformed JSON, other media types and huge bodies with a 4xx and a code, never a 500', async () => {
    const malformed = await api('/api/v1/tasks', { raw: '{"description": "unterminated' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('KAGE_MALFORMED_BODY');
    const proto = await api('/api/v1/tasks', { raw: '{"__proto__": {"x": 1}, "description": "Add a greeting file"}' });
    expect(proto.status).toBe(400);
    const text = await api('/api/v1/tasks', { raw: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('KAGE_UNSUPPORTED_MEDIA_TYPE');
    const huge = await api('/api/v1/tasks', { body: { ...valid, description: 'y'.repeat(2 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('KAGE_BODY_TOO_LARGE');
    const array = await api('/api/v1/tasks', { body: [1, 2, 3] });
    expect(array.status).toBe(422);
    const nul = await api('/api/v1/tasks', { raw: 'null' });
    expect(nul.status).toBe(422);
  });
});

describe('tasks', () => {
  it('creates a task with v1 defaults, ignores unknown fields and records the key as author', async () => {
    const res = await api('/api/v1/tasks', {
      body: {
        description: 'Write a greeting into hello.txt',
        cli_assignments: [fake({ behaviour: 'ok', file: 'hello.txt', content: 'hi\n' })],
        unknown_field: { anything: true },
        token_budget: 50_000,
      },
    });
    expect(res.status).toBe(201);
    const task = taskResponseSchema.parse(res.body);
    expect(task).toMatchObject({ status: expect.stringMatching(/pending|running/), merge_strategy: 'theirs', created_by: `api-key-${KEY.slice(0, 8)}`, token_budget: 50_000 });
    expect(task.repo).toBe(git(repo, 'rev-parse', '--show-toplevel'));
    const done = await finished(task.id);
    expect(done).toMatchObject({ status: 'completed', success_count: 1, failure_count: 0, best_cli: 'fake', merge_status: 'merged' });
    expect(done.cli_results[0]).toMatchObject({ cli_name: 'fake', status: 'success', files_modified: ['hello.txt'] });
    expect(readFileSync(join(repo, 'hello.txt'), 'utf8')).toBe('hi\n');
    const row = await server.kage.ctx.store.getClones(task.id);
    expect(row[0]!.options).toMatchObject({ behaviour: 'ok', context: { behaviour: 'ok', file: 'hello.txt', content: 'hi\n' } });
  });

  it('lists tasks newest first with paging and a v1 status filter, and reaches stats', async () => {
    const a = (await api('/api/v1/tasks', { body: { description: 'First listed task here', cli_assignments: [fake({ behaviour: 'noop' })] } })).body;
    const b = (await api('/api/v1/tasks', { body: { description: 'Second listed task here', cli_assignments: [fake({ behaviour: 'noop' })] } })).body;
    await finished(a.id);
    await finished(b.id);
    const page = await api('/api/v1/tasks?page=1&page_size=2');
    expect(page.status).toBe(200);
    const list = taskListSchema.parse(page.body);
    expect(list.page_size).toBe(2);
    expect(list.tasks.map((t) => t.id)).toEqual([b.id, a.id]);
    expect(list.total).toBeGreaterThanOrEqual(3);
    const second = (await api('/api/v1/tasks?page=2&page_size=2')).body;
    expect(second.tasks.map((t: { id: string }) => t.id)).not.toContain(a.id);
    const completed = (await api('/api/v1/tasks?status=completed&page_size=100')).body;
    expect(completed.tasks.every((t: { status: string }) => t.status === 'completed')).toBe(true);
    expect(completed.tasks.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect((await api('/api/v1/tasks?status=cancelled')).body.tasks).toEqual([]);

    const stats = await api('/api/v1/tasks/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ running_tasks: expect.any(Number), running_clones: expect.any(Number) });
    const fakeStats = stats.body.agents.find((s: { cli_name: string }) => s.cli_name === 'fake');
    expect(fakeStats.total).toBeGreaterThanOrEqual(3);
    expect(fakeStats.succeeded).toBeGreaterThanOrEqual(3);
  });

  it('cancels a running task, killing its hanging agent, and answers 409 the second time', async () => {
    const { body: task } = await api('/api/v1/tasks', { body: { description: 'Hang until cancelled', cli_assignments: [fake({ behaviour: 'hang' })] } });
    const pid = await waitFor('the hanging agent to start', async () => {
      const [clone] = await server.kage.ctx.store.getClones(task.id);
      return clone?.status === 'running' && clone.pid ? clone.pid : undefined;
    });
    const merge = await api(`/api/v1/tasks/${task.id}/merge`, { method: 'POST' });
    expect(merge.status).toBe(409);
    expect(merge.body.code).toBe('KAGE_TASK_NOT_FINISHED');
    const res = await api(`/api/v1/tasks/${task.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: `Task ${task.id} cancelled successfully`, task_id: task.id, status: 'cancelled' });
    await waitFor('the agent process group to die', async () => (isProcessAlive(pid) ? undefined : true), 15_000);
    const again = await api(`/api/v1/tasks/${task.id}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('KAGE_TASK_FINISHED');
    expect((await api(`/api/v1/tasks/${task.id}`)).body.status).toBe('cancelled');
    expect((await api('/api/v1/tasks/0e2f4f5c-9d7e-4a53-8c1e-3b2a1f0e9d8c', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('merge and conflicts on a real repository', () => {
  it('reports conflicts per clone and merges the chosen clone with the chosen strategy', async () => {
    const own = await makeRepo({ 'shared.txt': 'base\n' });
    const { body: created } = await api('/api/v1/tasks', {
      body: {
        description: 'Two clones edit one file differently',
        repo: own,
        merge_strategy: 'manual',
        cli_assignments: [
          fake({ behaviour: 'ok', file: 'shared.txt', content: 'from a\n' }, { name: 'a' }),
          fake({ behaviour: 'ok', file: 'shared.txt', content: 'from b\n' }, { name: 'b' }),
        ],
      },
    });
    const done = await finished(created.id);
    expect(done).toMatchObject({ status: 'completed', kage_status: 'needs_review', merge_status: 'manual' });

    const before = await api(`/api/v1/tasks/${created.id}/conflicts?cli_name=a`);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ task_id: created.id, cli_name: 'a', can_auto_merge: true, conflicts: [], files_changed: ['shared.txt'] });
    expect(before.body.source_branch).toMatch(/^kage\/.+\/a$/);

    const merged = await api(`/api/v1/tasks/${created.id}/merge?strategy=auto&cli_name=a`, { method: 'POST' });
    expect(merged.status).toBe(200);
    expect(mergeResponseSchema.parse(merged.body)).toMatchObject({ success: true, strategy: 'auto', merged_files: ['shared.txt'], conflicts: [] });
    expect(git(own, 'rev-parse', 'main')).toBe(merged.body.commit_hash);
    expect(git(own, 'show', 'main:shared.txt')).toBe('from a');

    const after = await api(`/api/v1/tasks/${created.id}/conflicts?cli_name=b`);
    expect(after.body).toMatchObject({ cli_name: 'b', can_auto_merge: false, conflicts: ['shared.txt'] });
    const again = await api(`/api/v1/tasks/${created.id}/merge?cli_name=b&strategy=auto`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('KAGE_TASK_FINISHED');
    const unknown = await api(`/api/v1/tasks/${created.id}/conflicts?cli_name=zzz`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('KAGE_CLONE_NOT_FOUND');
  });

  it('merges with theirs over a conflict, and refuses a task where nothing succeeded', async () => {
    const own = await makeRepo({ 'shared.txt': 'base\n' });
    const { body: created } = await api('/api/v1/tasks', {
      body: {
        description: 'One clone edits a file the base changes too',
        repo: own,
        merge_strategy: 'manual',
        cli_assignments: [fake({ behaviour: 'ok', file: 'shared.txt', content: 'clone\n' })],
      },
    });
    await finished(created.id);
    execFileSync('sh', ['-c', 'printf "base moved\\n" > shared.txt && git -c user.name=t -c user.email=t@t commit -qam moved'], { cwd: own });
    const conflicts = await api(`/api/v1/tasks/${created.id}/conflicts`);
    expect(conflicts.body).toMatchObject({ cli_name: 'fake', can_auto_merge: false, conflicts: ['shared.txt'] });
    const auto = await api(`/api/v1/tasks/${created.id}/merge?strategy=auto`, { method: 'POST' });
    expect(auto.status).toBe(200);
    expect(auto.body).toMatchObject({ success: false, conflicts: ['shared.txt'], commit_hash: null });
    const theirs = await api(`/api/v1/tasks/${created.id}/merge?strategy=theirs&cli_name=fake`, { method: 'POST' });
    expect(theirs.body).toMatchObject({ success: true, strategy: 'theirs', conflicts: ['shared.txt'] });
    expect(git(own, 'show', 'main:shared.txt')).toBe('clone');

    const { body: failing } = await api('/api/v1/tasks', {
      body: { description: 'A clone that crashes', repo: own, max_retries: 0, cli_assignments: [fake({ behaviour: 'crash' })] },
    });
    expect((await finished(failing.id)).status).toBe('failed');
    const nothing = await api(`/api/v1/tasks/${failing.id}/merge`, { method: 'POST' });
    expect(nothing.status).toBe(409);
    expect(nothing.body.code).toBe('KAGE_NOTHING_TO_MERGE');
  });
});

describe('reads beyond v1', () => {
  it('shows a clone with its diff, events and score, the event list, the ranking and a stream token', async () => {
    const { body: created } = await api('/api/v1/tasks', {
      body: { description: 'Write notes for the reads test', merge_strategy: 'manual', cli_assignments: [fake({ behaviour: 'ok', file: 'notes.txt', content: 'n\n' }, { name: 'writer' }), fake({ behaviour: 'noop' }, { name: 'idle' })] },
    });
    await finished(created.id);
    const clone = await api(`/api/v1/tasks/${created.id}/clones/writer`);
    expect(clone.status).toBe(200);
    expect(clone.body).toMatchObject({ name: 'writer', agent: 'fake', status: 'succeeded', files_modified: ['notes.txt'], rank: 1 });
    expect(clone.body.diff).toContain('+n');
    expect(typeof clone.body.score).toBe('number');
    expect(clone.body.reason).toBeTruthy();
    expect(clone.body.events.length).toBeGreaterThan(0);
    expect(clone.body.events.every((e: { clone: string }) => e.clone === 'writer')).toBe(true);
    expect((await api(`/api/v1/tasks/${created.id}/clones/nobody`)).status).toBe(404);

    const events = await api(`/api/v1/tasks/${created.id}/events`);
    expect(events.status).toBe(200);
    expect(events.body[0].type).toBe('task_created');
    const ids = events.body.map((e: { id: string }) => BigInt(e.id));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    const later = await api(`/api/v1/tasks/${created.id}/events?after=${events.body[0].id}&limit=2`);
    expect(later.body.map((e: { id: string }) => e.id)).toEqual(events.body.slice(1, 3).map((e: { id: string }) => e.id));

    const ranking = await api(`/api/v1/tasks/${created.id}/ranking`);
    expect(ranking.body).toMatchObject({ best_cli: 'writer', ranking: [{ name: 'writer', rank: 1 }, { name: 'idle', rank: 2 }] });

    const token = await api(`/api/v1/tasks/${created.id}/stream-token`, { method: 'POST' });
    expect(token.status).toBe(200);
    expect(token.body.url).toContain(`/api/v1/tasks/${created.id}/progress?token=`);
    const stream = await fetch(`${server.url}${token.body.url}`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
    const otherTask = await fetch(`${server.url}/api/v1/tasks/${created.id.replace(/^./, created.id[0] === 'a' ? 'b' : 'a')}/progress?token=${encodeURIComponent(token.body.token)}`);
    expect(otherTask.status).toBe(403);
  });
});

describe('a server with a generated key', () => {
  it('writes the key once to KAGE_HOME/api-key (0600), stores only its hash, and reuses it on restart', async () => {
    const databaseUrl = await freshDatabase();
    const home = tempDir('home');
    const config = testConfig({ databaseUrl, home, env: { KAGE_PORT: '0' } });
    const first = await startServer(config, { workers: false });
    let key: string;
    try {
      expect(first.generatedKeyFile).toBe(join(home, 'api-key'));
      expect(statSync(first.generatedKeyFile!).mode & 0o777).toBe(0o600);
      key = readFileSync(first.generatedKeyFile!, 'utf8').trim();
      expect(key).toMatch(/^kage_[A-Za-z0-9_-]{40,}$/);
      const call = client(() => first.url, key);
      expect((await call('/api/v1/tasks')).status).toBe(200);
      expect((await call('/api/v1/tasks', { key: 'dev-key-12345' })).status).toBe(403);
      const noRepo = await call('/api/v1/tasks', { body: { description: 'No repository anywhere', cli_assignments: [fake({})] } });
      expect(noRepo.status).toBe(422);
      expect(noRepo.body.field).toBe('repo');
      const rows = (await first.kage.ctx.store.pool.query('select * from api_keys')).rows;
      expect(rows).toHaveLength(1);
      expect(rows[0].hash).toBe(createHash('sha256').update(key).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(key);
    } finally {
      await first.close({ graceMs: 0 });
    }
    const second = await startServer(config, { workers: false });
    try {
      expect(readFileSync(join(home, 'api-key'), 'utf8').trim()).toBe(key);
      expect((await client(() => second.url, key)('/api/v1/tasks')).status).toBe(200);
      expect((await second.kage.ctx.store.pool.query('select count(*)::int as n from api_keys')).rows[0].n).toBe(1);
    } finally {
      await second.close({ graceMs: 0 });
    }
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After past the per-key rate limit and when the queue is full; CORS only for listed origins', async () => {
    const limited = await startServer(testConfig({
      databaseUrl: await freshDatabase(),
      env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: repo, KAGE_RATE_LIMIT: '8', KAGE_MAX_QUEUED: '1', KAGE_CORS_ORIGINS: 'http://app.example' },
    }), { workers: false });
    try {
      const call = client(() => limited.url, KEY);
      const submit = { description: 'Queued and never run', cli_assignments: [fake({})] };
      expect((await call('/api/v1/tasks', { body: submit })).status).toBe(201);
      const full = await call('/api/v1/tasks', { body: submit });
      expect(full.status).toBe(429);
      expect(full.body.code).toBe('KAGE_QUEUE_FULL');
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);

      const preflight = await fetch(`${limited.url}/api/v1/tasks`, {
        method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.example');
      const foreign = await call('/health', { headers: { origin: 'http://evil.example' } });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

      let last: Answer | null = null;
      for (let i = 0; i < 10 && last?.status !== 429; i++) last = await call('/api/v1/tasks/stats');
      expect(last!.status).toBe(429);
      expect(last!.body.code).toBe('KAGE_RATE_LIMITED');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      // The limit is per key: another client's key is unaffected.
      expect((await call('/api/v1/tasks/stats', { key: null })).status).toBe(401);
    } finally {
      await limited.close({ graceMs: 0 });
    }
  });
});

describe('shutdown', () => {
  it('hands a clone still running after the grace period back to the queue and leaves nothing running', async () => {
    const databaseUrl = await freshDatabase();
    const own = await startServer(testConfig({ databaseUrl, env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0', KAGE_REPO: repo } }));
    const call = client(() => own.url, KEY);
    const { body: task } = await call('/api/v1/tasks', { body: { description: 'Hang through a shutdown', cli_assignments: [fake({ behaviour: 'hang' })] } });
    const pid = await waitFor('the hanging agent to start', async () => {
      const [clone] = await own.kage.ctx.store.getClones(task.id);
      return clone?.status === 'running' && clone.pid ? clone.pid : undefined;
    });
    const store = own.kage.ctx.store;
    const url = store.url;
    await own.close({ graceMs: 200 });
    expect(isProcessAlive(pid)).toBe(false);
    await expect(fetch(`${own.url}/health`)).rejects.toThrow();
    const check = await startServer(testConfig({ databaseUrl: url, env: { KAGE_API_KEYS: KEY, KAGE_PORT: '0' } }), { workers: false });
    try {
      const [clone] = await check.kage.ctx.store.getClones(task.id);
      expect(clone!.status).toBe('queued');
      expect(isTerminalClone(clone!.status)).toBe(false);
      expect(clone!.retries).toBe(0);
      expect((await check.kage.ctx.store.getTask(task.id))!.status).toBe('pending');
    } finally {
      await check.close({ graceMs: 0 });
    }
  });
});
