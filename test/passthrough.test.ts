// Passthrough: agents that keep their own credentials and are still metered. The gateway, in front of kage's
// mock model server (behind a recording proxy that shows what reached the upstream), with a real PostgreSQL:
// it finds the clone by the token in the path, forwards the client's own key unchanged and adds none of
// kage's, and keeps the token out of metering rows, recordings, answers and logs. Then kage runs the genuine
// Claude Code and Codex CLIs in passthrough, with their own keys and with Claude Code's subscription login
// copied from the user's HOME; each runs behind a wrapper (its configured `bin`) that dumps the environment
// and login file it got into its worktree before it runs the CLI.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findCliBinary } from '../src/agents/cli-binaries.js';
import { CLI_PINS, type PinnedAgentId } from '../src/agents/cli-pins.js';
import { isTerminalTask, type CloneRecord, type FlightGrant, type GatewayRequestRecord, type TaskRecord, type Usage } from '../src/domain/index.js';
import { createGateway, REDACTED, withPathToken, type Gateway } from '../src/gateway/index.js';
import type { Kage } from '../src/main/app.js';
import { MOCK_USAGE, startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { PgStore } from '../src/store/pg-store.js';
import { PgRecordingStore } from '../src/store/recording-store.js';
import { runGit } from '../src/workspace/git.js';
import { parseJson } from './support/cli-json.js';
import { freshDatabase, kageCli, makeRepo, openKage, tempDir, waitFor } from './support/harness.js';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';
import { send } from './support/http-send.js';

/** The user's own credentials: what kage was given for its agents, and a Claude subscription's access token. */
const OWN = {
  anthropic: 'sk-ant-user-own-3f9a1c7e',
  openai: 'sk-user-own-openai-b81d42',
  gemini: 'AIza-user-own-gemini-5e07',
  oauth: 'sk-ant-oat01-user-own-subscription-9c2e',
} as const;
/** Kage's real keys for the gateway: a passthrough request must never carry them. */
const KAGE_KEYS = { anthropic: 'sk-ant-kage-real-0d4b', openai: 'sk-openai-kage-real-77e1', gemini: 'gemini-kage-real-a3c9' } as const;
const PATH_TOKEN = /\/t\/(kgw_[A-Za-z0-9_-]{20,})\//;

/** The mock's counts as the gateway stores them: input without the cached part, cache writes only where the protocol has them. */
function normalized(usage: Usage, protocol: string): Usage {
  if (protocol === 'anthropic') return { ...usage };
  return { inputTokens: usage.inputTokens - usage.cacheReadTokens, outputTokens: usage.outputTokens, cacheReadTokens: usage.cacheReadTokens, cacheWriteTokens: 0 };
}

describe('the gateway in passthrough', () => {
  let store: PgStore;
  let gatewayStore: PgGatewayStore;
  let recordings: PgRecordingStore;
  let mock: MockModelServer;
  let upstream: RecordingProxy;
  let refusing: Server;
  let gateway: Gateway;
  let refusingGateway: Gateway;
  let taskId: string;
  let cloneId: string;
  let token: string;
  const metered: GatewayRequestRecord[] = [];
  const logs: string[] = [];
  const flight = (cloneName: string): FlightGrant => ({ mode: 'record', sourceTaskId: null, cloneName, attempt: 0, workdir: '/w', home: '/h' });
  const base = (provider: 'anthropic' | 'openai' | 'gemini' | 'ollama', gw = gateway, t = token): string => withPathToken(gw.baseUrls()[provider], provider, t);

  beforeAll(async () => {
    store = new PgStore(await freshDatabase(), 4);
    await store.migrate();
    gatewayStore = new PgGatewayStore(store.pool);
    recordings = new PgRecordingStore(store.pool);
    taskId = randomUUID();
    cloneId = randomUUID();
    await store.createTask({ id: taskId, description: 'passthrough', repo: '/tmp/none', baseRef: 'main', baseCommit: '0'.repeat(40),
      checkCommand: null, setupCommand: null, mergeStrategy: 'auto', maxRetries: 0, retryDelayMs: 0, checkTimeoutMs: 1000, createdBy: null },
    [{ id: cloneId, name: 'a', agent: 'fake', model: null, options: {}, branch: `kage/${cloneId}`, timeoutMs: 60_000 }]);
    mock = await startMockModelServer({ scenario: 'text' });
    upstream = await startRecordingProxy(mock.url);
    const log = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
    const common = {
      store: gatewayStore, log, recordings, onRequest: (r: GatewayRequestRecord) => void metered.push(r),
      // A step that fails for one model name stands for any internal error: the gateway logs the request's URL.
      steps: [(info: { model: string | null }) => {
        if (info.model === 'explode') throw new Error('a step failed');
        return null;
      }],
    };
    gateway = await createGateway({ ...common, upstreams: {
      anthropic: { baseUrl: upstream.url, apiKey: KAGE_KEYS.anthropic },
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: KAGE_KEYS.openai },
      gemini: { baseUrl: upstream.url, apiKey: KAGE_KEYS.gemini },
      ollama: { baseUrl: upstream.url, apiKey: null },
    } });
    // An upstream that wants a key, as the real providers do: 401 in Anthropic's shape without one.
    refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
        res.writeHead(req.headers['x-api-key'] === undefined && req.headers.authorization === undefined ? 401 : 200,
          { 'content-type': 'application/json', 'request-id': 'req_upstream_1' }).end(body);
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingGateway = await createGateway({ ...common, upstreams: {
      anthropic: { baseUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`, apiKey: KAGE_KEYS.anthropic },
    } });
    token = await gateway.issueToken({ taskId, cloneId, auth: 'passthrough', flight: flight('a') });
  });

  afterAll(async () => {
    await gateway?.close();
    await refusingGateway?.close();
    await new Promise((resolve) => (refusing ? refusing.close(resolve) : resolve(undefined)));
    await upstream?.close();
    await mock?.close();
    await store?.close();
  });

  const prompt = 'say hello [[mock:text]]';
  const CASES = [
    { name: 'an Anthropic API key', provider: 'anthropic', protocol: 'anthropic', rest: '/v1/messages', query: '?beta=true',
      headers: { 'x-api-key': OWN.anthropic }, body: { model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: prompt }] },
      arrives: ['x-api-key', OWN.anthropic] },
    { name: 'a Claude subscription\'s OAuth token', provider: 'anthropic', protocol: 'anthropic', rest: '/v1/messages', query: '',
      headers: { authorization: `Bearer ${OWN.oauth}`, 'anthropic-beta': 'oauth-2025-04-20' },
      body: { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: prompt }] }, arrives: ['authorization', `Bearer ${OWN.oauth}`] },
    { name: 'an OpenAI key', provider: 'openai', protocol: 'openai-responses', rest: '/responses', query: '',
      headers: { authorization: `Bearer ${OWN.openai}` }, body: { model: 'gpt-5', stream: true, input: prompt }, arrives: ['authorization', `Bearer ${OWN.openai}`],
      upstreamPrefix: '/v1' },
    { name: 'a Gemini key in the header', provider: 'gemini', protocol: 'gemini', rest: '/v1beta/models/gemini-2.5-flash:streamGenerateContent', query: '?alt=sse',
      headers: { 'x-goog-api-key': OWN.gemini }, body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] }, arrives: ['x-goog-api-key', OWN.gemini] },
    { name: 'a Gemini key in the URL', provider: 'gemini', protocol: 'gemini', rest: '/v1beta/models/gemini-2.5-pro:generateContent', query: `?key=${OWN.gemini}`,
      headers: {}, body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] }, arrives: null },
  ] as const;

  it.each(CASES)('forwards $name unchanged, adds none of kage\'s keys, and meters the clone named in the path', async (c) => {
    const before = { exchanges: upstream.exchanges.length, metered: metered.length };
    const reply = await send(`${base(c.provider)}${c.rest}${c.query}`, { headers: c.headers, body: c.body });
    expect(reply.status, reply.body.toString()).toBe(200);

    expect(upstream.exchanges).toHaveLength(before.exchanges + 1);
    const exchange = upstream.exchanges.at(-1)!;
    expect(reply.body.equals(exchange.response)).toBe(true);
    // The path the upstream got is the provider's own, the token stripped; the client's query (its key too) kept.
    expect(exchange.path).toBe(`${'upstreamPrefix' in c ? c.upstreamPrefix : ''}${c.rest}${c.query}`);
    if (c.arrives !== null) expect(exchange.headers[c.arrives[0]]).toBe(c.arrives[1]);
    const sent = JSON.stringify(exchange.headers) + exchange.path;
    expect(sent).not.toContain(token);
    expect(Object.values(KAGE_KEYS).filter((key) => sent.includes(key))).toEqual([]);

    const served = mock.requests().at(-1)!;
    expect(served.usage).toEqual(MOCK_USAGE.finalTurn);
    const record = await waitFor('the request metered', async () => metered.slice(before.metered).find((r) => r.path === c.rest));
    expect(record).toMatchObject({ taskId, cloneId, provider: c.provider, status: 200, error: null, ...normalized(served.usage!, c.protocol) });
  });

  it('forwards a request with no credential as it is, and passes on the upstream\'s 401', async () => {
    const reply = await send(`${base('anthropic', refusingGateway)}/v1/messages`, { body: { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [] } });
    expect(reply.status).toBe(401);
    expect(reply.headers['request-id']).toBe('req_upstream_1');
    expect(JSON.parse(reply.body.toString())).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
    const record = await waitFor('the refused request metered', async () => metered.find((r) => r.status === 401 && r.cloneId === cloneId));
    expect(record).toMatchObject({ taskId, provider: 'anthropic', path: '/v1/messages' });
  });

  const SHAPES = [
    { provider: 'anthropic', rest: '/v1/messages', body: { type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('live kage clone token') } } },
    { provider: 'openai', rest: '/chat/completions', body: { error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } },
    { provider: 'gemini', rest: '/v1beta/models/gemini-2.5-flash:generateContent', body: { error: { code: 401, message: expect.any(String), status: 'UNAUTHENTICATED' } } },
    { provider: 'ollama', rest: '/api/chat', body: { error: expect.any(String) } },
  ] as const;

  it.each(SHAPES)('answers a path naming no live token with 401 in $provider\'s shape, without reaching the upstream', async ({ provider, rest, body }) => {
    const before = upstream.exchanges.length;
    const reply = await send(`${base(provider, gateway, 'kgw_not-a-live-token-at-all-0123456789')}${rest}`,
      { headers: { authorization: `Bearer ${OWN.openai}` }, body: { model: 'm', messages: [] } });
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body.toString())).toEqual(body);
    expect(upstream.exchanges).toHaveLength(before);
  });

  it('takes a passthrough token only in the path and a gateway token only as a key, and neither once revoked', async () => {
    const before = upstream.exchanges.length;
    const body = { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: prompt }] };
    // Sent as a key, the passthrough token would get kage's real key added upstream.
    const asKey = await send(`${gateway.baseUrls().anthropic}/v1/messages`, { headers: { 'x-api-key': token }, body });
    expect(asKey.status).toBe(401);
    const gatewayToken = await gateway.issueToken({ taskId, cloneId });
    const inPath = await send(`${base('anthropic', gateway, gatewayToken)}/v1/messages`, { headers: { 'x-api-key': OWN.anthropic }, body });
    expect(inPath.status).toBe(401);
    const revoked = await gateway.issueToken({ taskId, cloneId, auth: 'passthrough' });
    expect((await send(`${base('anthropic', gateway, revoked)}/v1/messages`, { headers: { 'x-api-key': OWN.anthropic }, body })).status).toBe(200);
    await gateway.revokeToken(revoked);
    expect((await send(`${base('anthropic', gateway, revoked)}/v1/messages`, { headers: { 'x-api-key': OWN.anthropic }, body })).status).toBe(401);
    expect(upstream.exchanges).toHaveLength(before + 1);
  });

  it('keeps the token out of metering rows, recordings, answers and logs, and the own keys out of recordings', async () => {
    const notFound = await send(`${gateway.url}/t/${token}/nowhere/v1/messages`, { body: {} });
    expect(notFound.status).toBe(404);
    expect(notFound.body.toString()).toContain(`/t/${REDACTED}/nowhere/v1/messages`);
    const failed = await send(`${base('anthropic')}/v1/messages?beta=true`, { headers: { 'x-api-key': OWN.anthropic }, body: { model: 'explode', messages: [] } });
    expect(failed.status).toBe(500);
    await waitFor('the failure logged', async () => (logs.some((line) => line.includes('gateway request failed')) ? true : undefined));
    const logged = logs.find((line) => line.includes('gateway request failed'))!;
    expect(JSON.parse(logged).path).toBe(`/t/${REDACTED}/anthropic/v1/messages?beta=true`);

    const rows = await gatewayStore.listGatewayRequests(taskId);
    expect(rows.filter((r) => r.cloneId === cloneId).length).toBeGreaterThanOrEqual(CASES.length);
    const stored = await waitFor('every forwarded exchange recorded', async () => {
      const list = await recordings.listRecordings(taskId);
      return list.length >= CASES.length + 1 ? list : undefined;
    });
    const recordedPaths = stored.map((x) => x.path);
    expect(recordedPaths).toContain(`/v1beta/models/gemini-2.5-pro:generateContent?key=${encodeURIComponent(REDACTED)}`);
    const everything = [JSON.stringify(rows), JSON.stringify(metered), JSON.stringify(stored.map((x) => ({ ...x, body: x.body.toString('latin1'),
      responseBody: x.responseBody.toString('latin1') }))), ...logs, notFound.body.toString(), failed.body.toString()].join('\n');
    expect(everything).not.toContain(token);
    expect(JSON.stringify(stored.map((x) => [x.path, x.headers]))).not.toMatch(/user-own/);
  });
});

// The genuine CLIs run by kage. Each CLI's wrapper writes what it was given into its worktree, where the
// clone's commit keeps it: its environment, and the state of Claude Code's login file in its HOME.
const DUMP = 'agent-env.json';
const DUMP_SCRIPT = `const fs = require('fs'), path = require('path');
const file = path.join(process.env.HOME, '.claude', '.credentials.json');
let login = null;
try {
  const stat = fs.lstatSync(file);
  login = { mode: stat.mode & 0o777, link: stat.isSymbolicLink(), content: fs.readFileSync(file, 'utf8') };
} catch {}
fs.writeFileSync(${JSON.stringify(DUMP)}, JSON.stringify({ env: process.env, login }));
`;

interface Dump {
  env: Record<string, string>;
  login: { mode: number; link: boolean; content: string } | null;
}

function wrapper(dir: string, agent: PinnedAgentId): string {
  const real = findCliBinary(CLI_PINS[agent], { configured: null, pathEnv: process.env.PATH, agentsDir: inject('agentsDir') });
  if (real === null) throw new Error(`${agent} is not installed`);
  const script = join(dir, 'dump.cjs');
  writeFileSync(script, DUMP_SCRIPT);
  const path = join(dir, `${agent}-wrapper`);
  writeFileSync(path, `#!/bin/sh\n'${process.execPath}' '${script}'\nexec '${real.path}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

async function runClone(kage: Kage, clone: Record<string, unknown>): Promise<{ task: TaskRecord; clone: CloneRecord }> {
  const { task } = await kage.tasks.createTask({ description: 'create hello.txt [[mock:write file=hello.txt]]', repo: await makeRepo(),
    maxRetries: 0, mergeStrategy: 'manual', record: true, clones: [{ timeoutSeconds: 120, ...clone }] });
  const done = await waitFor(`task ${task.id} to finish`, async () => {
    const t = await kage.ctx.store.getTask(task.id);
    return t && isTerminalTask(t.status) ? t : undefined;
  }, 150_000);
  await kage.ctx.events.flush();
  return { task: done, clone: (await kage.ctx.store.getClones(task.id))[0]! };
}

async function dumped(task: TaskRecord, clone: CloneRecord): Promise<Dump> {
  expect(clone.headCommit).not.toBeNull();
  return JSON.parse((await runGit(['show', `${clone.headCommit}:${DUMP}`], { cwd: task.repo })).stdout) as Dump;
}

/** The metered sums of the clone's requests, once every request the mock served is metered. */
async function meteredUsage(kage: Kage, task: TaskRecord, requests: number): Promise<{ rows: GatewayRequestRecord[]; usage: Usage }> {
  const gatewayStore = new PgGatewayStore(kage.ctx.store.pool);
  const rows = await waitFor('every request metered', async () => {
    const list = await gatewayStore.listGatewayRequests(task.id);
    return list.length >= requests ? list : undefined;
  });
  const sum = (key: keyof Usage): number => rows.reduce((n, r) => n + r[key], 0);
  return { rows, usage: { inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens'), cacheReadTokens: sum('cacheReadTokens'), cacheWriteTokens: sum('cacheWriteTokens') } };
}

/** What the mock answered with, summed over its requests from `from` on; cached input taken out where the protocol counts it in. */
function mockUsage(mock: MockModelServer, from: number, protocol: string): Usage {
  const served = mock.requests().slice(from).filter((r) => r.usage !== null).map((r) => normalized(r.usage!, protocol));
  const sum = (key: keyof Usage): number => served.reduce((n, u) => n + u[key], 0);
  return { inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens'), cacheReadTokens: sum('cacheReadTokens'), cacheWriteTokens: sum('cacheWriteTokens') };
}

/** Where the token must not be: what reached the upstream and the mock, the task's events, metering rows and recordings. */
async function tokenSightings(kage: Kage, task: TaskRecord, token: string, upstream: RecordingProxy, mock: MockModelServer): Promise<string[]> {
  const recorded = await new PgRecordingStore(kage.ctx.store.pool).listRecordings(task.id);
  expect(recorded.length).toBeGreaterThan(0);
  const places: Record<string, string> = {
    upstream: JSON.stringify(upstream.exchanges.map((x) => [x.path, x.headers, x.response.toString('latin1')])),
    mock: JSON.stringify(mock.requests()),
    events: JSON.stringify(await kage.ctx.store.listEvents(task.id)),
    metering: JSON.stringify(await new PgGatewayStore(kage.ctx.store.pool).listGatewayRequests(task.id)),
    recordings: JSON.stringify(recorded.map((x) => ({ ...x, body: x.body.toString('latin1'), responseBody: x.responseBody.toString('latin1') }))),
    clone: JSON.stringify(await kage.ctx.store.getClones(task.id)),
  };
  return Object.entries(places).filter(([, text]) => text.includes(token)).map(([place]) => place);
}

describe('clones in passthrough with keys of their own', () => {
  let mock: MockModelServer;
  let upstream: RecordingProxy;
  let kage: Kage;

  beforeAll(async () => {
    mock = await startMockModelServer();
    upstream = await startRecordingProxy(mock.url);
    const home = tempDir('passthrough-home');
    const bins = tempDir('passthrough-bins');
    writeFileSync(join(home, 'config.json'), JSON.stringify({
      agents: { 'claude-code': { bin: wrapper(bins, 'claude-code') }, codex: { bin: wrapper(bins, 'codex') } },
    }));
    // No secret and no `gateway.upstreams`: the only keys kage has are the user's own, for its agents.
    kage = await openKage({ databaseUrl: await freshDatabase(), home, env: {
      KAGE_GATEWAY_AUTH: 'passthrough',
      ANTHROPIC_BASE_URL: upstream.url, ANTHROPIC_API_KEY: OWN.anthropic,
      OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: OWN.openai,
    } });
    await kage.runtime.start(2);
  });

  afterAll(async () => {
    await kage?.close();
    await upstream?.close();
    await mock?.close();
  });

  const AGENTS = [
    { agent: 'claude-code', model: null, protocol: 'anthropic', keyVariable: 'ANTHROPIC_API_KEY', urlVariable: 'ANTHROPIC_BASE_URL',
      arrives: ['x-api-key', OWN.anthropic], prefix: '/anthropic' },
    { agent: 'codex', model: 'mock-model', protocol: 'openai-responses', keyVariable: 'KAGE_CODEX_API_KEY', urlVariable: null,
      arrives: ['authorization', `Bearer ${OWN.openai}`], prefix: '/openai/v1' },
  ] as const;

  it.each(AGENTS)('runs $agent with its own key, which reaches the upstream unchanged while the gateway meters it', async (a) => {
    const before = { exchanges: upstream.exchanges.length, mock: mock.requests().length };
    const { task, clone } = await runClone(kage, { agent: a.agent, ...(a.model ? { model: a.model } : {}) });
    expect(clone.status, clone.error ?? '').toBe('succeeded');
    expect(clone.diff?.files).toContain('hello.txt');

    // The agent got its own key and the gateway's URL with its token in the path (Codex's is in its config file).
    const { env } = await dumped(task, clone);
    expect(env[a.keyVariable]).toBe(a.arrives[0] === 'x-api-key' ? OWN.anthropic : OWN.openai);
    const configText = a.urlVariable === null ? readFileSync(join(kage.config.home, 'homes', clone.id, '.codex', 'config.toml'), 'utf8') : env[a.urlVariable]!;
    const token = PATH_TOKEN.exec(configText)?.[1];
    expect(token, configText).toBeDefined();
    expect(configText).toContain(`${kage.ctx.gateway!.baseUrls().anthropic.replace(/\/anthropic$/, '')}/t/${token}${a.prefix}`);

    const exchanges = upstream.exchanges.slice(before.exchanges);
    expect(exchanges.length).toBeGreaterThan(0);
    for (const exchange of exchanges) expect(exchange.headers[a.arrives[0]]).toBe(a.arrives[1]);

    const served = mock.requests().length - before.mock;
    const { rows, usage } = await meteredUsage(kage, task, served);
    expect(rows.every((r) => r.cloneId === clone.id && r.status === 200)).toBe(true);
    const expected = mockUsage(mock, before.mock, a.protocol);
    expect(expected.outputTokens).toBeGreaterThan(0);
    expect(usage).toEqual(expected);
    expect(clone).toMatchObject({ usageSource: 'gateway', usage: expected });

    expect(await tokenSightings(kage, task, token!, upstream, mock)).toEqual([]);
  });
});

describe('a clone that signs in with its CLI\'s subscription login', () => {
  let mock: MockModelServer;
  let upstream: RecordingProxy;
  let kage: Kage;
  let userHome: string;
  const credentials = `${JSON.stringify({ claudeAiOauth: { accessToken: OWN.oauth, refreshToken: 'sk-ant-ort01-user-own-refresh',
    expiresAt: 4_102_444_800_000, scopes: ['user:inference', 'user:profile'], subscriptionType: 'max' } })}\n`;

  beforeAll(async () => {
    mock = await startMockModelServer();
    upstream = await startRecordingProxy(mock.url);
    userHome = tempDir('passthrough-user');
    mkdirSync(join(userHome, '.claude'), { mode: 0o700 });
    writeFileSync(join(userHome, '.claude', '.credentials.json'), credentials, { mode: 0o600 });
    const home = tempDir('passthrough-login-home');
    // Passthrough for Claude Code alone, by its own config entry; no Anthropic key anywhere.
    writeFileSync(join(home, 'config.json'), JSON.stringify({
      agents: { 'claude-code': { bin: wrapper(tempDir('passthrough-login-bins'), 'claude-code'), auth: 'passthrough' } },
    }));
    kage = await openKage({ databaseUrl: await freshDatabase(), home, env: { HOME: userHome, ANTHROPIC_BASE_URL: upstream.url } });
    await kage.runtime.start(1);
  });

  afterAll(async () => {
    await kage?.close();
    await upstream?.close();
    await mock?.close();
  });

  it('copies Claude Code\'s credentials file into the clone\'s HOME (0600, no link), and its OAuth token reaches the upstream', async () => {
    const before = { exchanges: upstream.exchanges.length, mock: mock.requests().length };
    const { task, clone } = await runClone(kage, { agent: 'claude-code' });
    expect(clone.status, clone.error ?? '').toBe('succeeded');

    const { env, login } = await dumped(task, clone);
    expect(env.HOME).toBe(join(kage.config.home, 'homes', clone.id));
    expect(Object.keys(env).filter((name) => /^ANTHROPIC_(API_KEY|AUTH_TOKEN)$/.test(name))).toEqual([]);
    expect(login).toEqual({ mode: 0o600, link: false, content: credentials });
    const token = PATH_TOKEN.exec(env.ANTHROPIC_BASE_URL ?? '')?.[1];
    expect(token, env.ANTHROPIC_BASE_URL).toBeDefined();

    const exchanges = upstream.exchanges.slice(before.exchanges);
    expect(exchanges.length).toBeGreaterThan(0);
    for (const exchange of exchanges) {
      expect(exchange.headers.authorization).toBe(`Bearer ${OWN.oauth}`);
      expect(exchange.headers['x-api-key']).toBeUndefined();
    }
    const { usage } = await meteredUsage(kage, task, mock.requests().length - before.mock);
    expect(usage).toEqual(mockUsage(mock, before.mock, 'anthropic'));
    expect(await tokenSightings(kage, task, token!, upstream, mock)).toEqual([]);

    // The copy goes with the attempt; the user's own file is as it was.
    expect(existsSync(join(kage.config.home, 'homes', clone.id, '.claude', '.credentials.json'))).toBe(false);
    expect(readFileSync(join(userHome, '.claude', '.credentials.json'), 'utf8')).toBe(credentials);
  });
});

describe('kage doctor in passthrough', () => {
  interface DoctorJson {
    agents: { id: string; usable: boolean; auth: string | null; ownCredentials: string[] | null; problems: string[] }[];
  }

  it('shows each agent\'s auth mode and the credentials of its own it has', async () => {
    const userHome = tempDir('doctor-user');
    mkdirSync(join(userHome, '.claude'), { mode: 0o700 });
    writeFileSync(join(userHome, '.claude', '.credentials.json'), '{}', { mode: 0o600 });
    const kageHome = tempDir('doctor-passthrough');
    writeFileSync(join(kageHome, 'config.json'), JSON.stringify({ agents: { opencode: { auth: 'gateway' } } }));
    const env = { KAGE_HOME: kageHome, KAGE_AGENTS_DIR: inject('agentsDir'), PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: userHome, KAGE_GATEWAY_AUTH: 'passthrough', OPENAI_API_KEY: 'sk-user-own-doctor' };
    const result = await kageCli(['doctor', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const agents = new Map(parseJson<DoctorJson>(result, 'kage doctor --json').agents.map((a) => [a.id, a]));
    expect(agents.get('claude-code')).toMatchObject({ auth: 'passthrough', ownCredentials: ['~/.claude/.credentials.json'], problems: [] });
    expect(agents.get('codex')).toMatchObject({ auth: 'passthrough', ownCredentials: ['API key'], problems: [] });
    expect(agents.get('opencode')).toMatchObject({ auth: 'gateway', ownCredentials: null });
    expect(agents.get('gemini-cli')).toMatchObject({ auth: 'passthrough', ownCredentials: [] });
    expect(agents.get('gemini-cli')!.problems.join(' ')).toMatch(/passthrough with no credentials of its own: set GEMINI_API_KEY/);
    expect(agents.get('shell')).toMatchObject({ auth: null, ownCredentials: null });

    const text = await kageCli(['doctor'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {6}endpoint https:\/\/api\.anthropic\.com, auth passthrough, own credentials: ~\/\.claude\/\.credentials\.json$/m);
    expect(text.stdout).toMatch(/^ {6}endpoint https:\/\/generativelanguage\.googleapis\.com, auth passthrough, own credentials: none$/m);
    expect(text.stdout).toMatch(/^ {6}endpoint https:\/\/api\.openai\.com\/v1, key set, auth gateway$/m);
    expect(text.stdout).toMatch(/^ {6}endpoint https:\/\/api\.openai\.com\/v1, auth passthrough, own credentials: API key$/m);
  });
});
