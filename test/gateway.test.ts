// The LLM gateway in front of kage's mock model server (through a recording proxy that keeps the exact bytes
// and headers the upstream saw), with a real PostgreSQL for tokens and metering: every protocol streamed and
// not, credentials swapped, errors passed through, disconnects propagated, backpressure kept.
import { randomUUID } from 'node:crypto';
import { request, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { GatewayRequestRecord, Usage } from '../src/domain/index.js';
import { createGateway, createPriceTable, type Gateway, type GatewayOptions } from '../src/gateway/index.js';
import { MOCK_USAGE, startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { PgGatewayStore } from '../src/store/gateway-store.js';
import { PgStore } from '../src/store/pg-store.js';
import { freshDatabase, spawnKage, tempDir, waitFor, waitForExit } from './support/harness.js';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';
import { serveScripted } from './support/scripted-http.js';
import { send } from './support/http-send.js';

const KEYS = { anthropic: 'sk-ant-real-key', openai: 'sk-openai-real-key', gemini: 'gemini-real-key', ollama: 'ollama-real-key' };
const silent = pino({ level: 'silent' });

let store: PgStore;
let gatewayStore: PgGatewayStore;
let mock: MockModelServer;
let recorder: RecordingProxy;
let gateway: Gateway;
let token: string;
const metered: GatewayRequestRecord[] = [];
const closeLater: (() => Promise<void>)[] = [];

/** A task with clones `a` and `b` in the store; the gateway's tables reference both. */
async function storedTask(): Promise<{ taskId: string; a: string; b: string }> {
  const taskId = randomUUID();
  const [a, b] = [randomUUID(), randomUUID()];
  await store.createTask({ id: taskId, description: 'gateway test', repo: '/tmp/none', baseRef: 'main', baseCommit: '0'.repeat(40),
    checkCommand: null, setupCommand: null, mergeStrategy: 'auto', maxRetries: 0, retryDelayMs: 0, checkTimeoutMs: 1000, createdBy: null },
  [a, b].map((id, i) => ({ id, name: i === 0 ? 'a' : 'b', agent: 'fake', model: null, options: {}, branch: `kage/${id}`, timeoutMs: 60_000 })));
  return { taskId, a, b };
}

let task: { taskId: string; a: string; b: string };

async function openGateway(upstreams: GatewayOptions['upstreams'], extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gw = await createGateway({ upstreams, store: gatewayStore, log: silent, onRequest: (r) => metered.push(r), ...extra });
  closeLater.push(() => gw.close());
  return gw;
}

beforeAll(async () => {
  store = new PgStore(await freshDatabase(), 4);
  await store.migrate();
  gatewayStore = new PgGatewayStore(store.pool);
  task = await storedTask();
  mock = await startMockModelServer({ scenario: 'text' });
  recorder = await startRecordingProxy(mock.url);
  gateway = await openGateway({
    anthropic: { baseUrl: recorder.url, apiKey: KEYS.anthropic },
    openai: { baseUrl: `${recorder.url}/v1`, apiKey: KEYS.openai },
    gemini: { baseUrl: recorder.url, apiKey: KEYS.gemini },
    ollama: { baseUrl: recorder.url, apiKey: KEYS.ollama },
  });
  token = await gateway.issueToken({ taskId: task.taskId, cloneId: task.a });
});

afterAll(async () => {
  for (const close of closeLater) await close();
  await recorder?.close();
  await mock?.close();
  await store?.close();
});

/**
 * The first record metered after the first `from` that matches `where`. Earlier tests' requests may still be
 * being metered (their rows are written after the answer ends), so position alone does not identify one.
 */
function meteredRecord(from: number, where: Partial<GatewayRequestRecord>): Promise<GatewayRequestRecord> {
  const matches = (r: GatewayRequestRecord) => Object.entries(where).every(([k, v]) => r[k as keyof GatewayRequestRecord] === v);
  return waitFor(`a metered request like ${JSON.stringify(where)}`, async () => metered.slice(from).find(matches));
}

/** The mock's counts as the gateway normalizes them: input without the cached part, cache writes only where the protocol has them. */
function normalized(usage: Usage, protocol: string): Usage {
  if (protocol === 'anthropic') return { ...usage };
  if (protocol === 'ollama') return { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
  return { inputTokens: usage.inputTokens - usage.cacheReadTokens, outputTokens: usage.outputTokens, cacheReadTokens: usage.cacheReadTokens, cacheWriteTokens: 0 };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const prompt = 'say hello [[mock:text]]';

const CASES = [
  { name: 'Anthropic Messages, streamed', protocol: 'anthropic', path: '/anthropic/v1/messages?beta=true', auth: (t: string) => ({ 'x-api-key': t }),
    body: { model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: prompt }] },
    stream: true, upstreamAuth: ['x-api-key', KEYS.anthropic] },
  { name: 'Anthropic Messages', protocol: 'anthropic', path: '/anthropic/v1/messages', auth: bearer,
    body: { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: prompt }] },
    stream: false, upstreamAuth: ['authorization', `Bearer ${KEYS.anthropic}`] },
  { name: 'OpenAI Chat Completions, streamed with usage', protocol: 'openai-chat', path: '/openai/v1/chat/completions', auth: bearer,
    body: { model: 'gpt-5-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] },
    stream: true, upstreamAuth: ['authorization', `Bearer ${KEYS.openai}`] },
  { name: 'OpenAI Chat Completions', protocol: 'openai-chat', path: '/openai/v1/chat/completions', auth: bearer,
    body: { model: 'gpt-4.1', messages: [{ role: 'user', content: prompt }] },
    stream: false, upstreamAuth: ['authorization', `Bearer ${KEYS.openai}`] },
  { name: 'OpenAI Responses, streamed', protocol: 'openai-responses', path: '/openai/v1/responses', auth: bearer,
    body: { model: 'gpt-5', stream: true, input: prompt },
    stream: true, upstreamAuth: ['authorization', `Bearer ${KEYS.openai}`] },
  { name: 'OpenAI Responses', protocol: 'openai-responses', path: '/openai/v1/responses', auth: bearer,
    body: { model: 'o4-mini', input: prompt },
    stream: false, upstreamAuth: ['authorization', `Bearer ${KEYS.openai}`] },
  { name: 'Gemini streamGenerateContent, SSE', protocol: 'gemini', path: '/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    auth: (t: string) => ({ 'x-goog-api-key': t }), body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    stream: true, upstreamAuth: ['x-goog-api-key', KEYS.gemini] },
  { name: 'Gemini streamGenerateContent, JSON array, key in the URL', protocol: 'gemini',
    path: '/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=TOKEN', auth: () => ({}),
    body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] }, stream: true, upstreamAuth: ['x-goog-api-key', KEYS.gemini] },
  { name: 'Gemini generateContent', protocol: 'gemini', path: '/gemini/v1beta/models/gemini-2.5-flash-lite:generateContent',
    auth: (t: string) => ({ 'x-goog-api-key': t }), body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    stream: false, upstreamAuth: ['x-goog-api-key', KEYS.gemini] },
  { name: 'Ollama chat, streamed', protocol: 'ollama', path: '/ollama/api/chat', auth: bearer,
    body: { model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: prompt }] },
    stream: true, upstreamAuth: ['authorization', `Bearer ${KEYS.ollama}`] },
  { name: 'Ollama chat', protocol: 'ollama', path: '/ollama/api/chat', auth: bearer,
    body: { model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: prompt }] },
    stream: false, upstreamAuth: ['authorization', `Bearer ${KEYS.ollama}`] },
] as const;

describe.each(CASES)('$name', (c) => {
  it('passes the upstream\'s bytes through unchanged, sends the real key and never the token, and meters the mock\'s usage', async () => {
    const count = metered.length;
    const exchanges = recorder.exchanges.length;
    const reply = await send(`${gateway.url}${c.path.replace('TOKEN', token)}`, { headers: c.auth(token), body: c.body });
    expect(reply.status, reply.body.toString()).toBe(200);

    const exchange = recorder.exchanges[exchanges]!;
    expect(recorder.exchanges).toHaveLength(exchanges + 1);
    expect(reply.body.equals(exchange.response)).toBe(true);
    expect(exchange.response.length).toBeGreaterThan(0);
    expect(exchange.headers[c.upstreamAuth[0]]).toBe(c.upstreamAuth[1]);
    expect(JSON.stringify(exchange.headers) + exchange.path).not.toContain(token);
    expect(JSON.stringify(exchange.headers)).not.toMatch(/kgw_/);

    const served = mock.requests().at(-1)!;
    expect(served.protocol).toBe(c.protocol);
    expect(served.usage).toEqual(MOCK_USAGE.finalTurn);
    const record = await meteredRecord(count, { path: c.path.replace(/^\/(anthropic|openai\/v1|gemini|ollama)/, '').split('?')[0]! });
    const usage = normalized(served.usage!, c.protocol);
    expect(record).toMatchObject({ taskId: task.taskId, cloneId: task.a, status: 200, stream: c.stream, error: null, method: 'POST', ...usage });
    expect(record.model).toBe(served.model);
    expect(record.path).toBe(c.path.replace(/^\/(anthropic|openai\/v1|gemini|ollama)/, '').split('?')[0]);
    expect(record.costUsd).toBeCloseTo(createPriceTable().costUsd(served.model, usage), 12);
    if (c.protocol !== 'ollama') expect(record.costUsd).toBeGreaterThan(0);
    expect(record.latencyMs).toBeGreaterThanOrEqual(record.ttfbMs!);

    const stored = (await gatewayStore.listGatewayRequests(task.taskId))
      .find((r) => r.path === record.path && r.startedAt.getTime() === record.startedAt.getTime())!;
    expect(stored).toMatchObject({ ...usage, provider: record.provider, model: record.model, status: 200, stream: c.stream });
    expect(stored.costUsd).toBeCloseTo(record.costUsd, 12);
  });
});

describe('authentication', () => {
  const SHAPES = [
    { provider: 'anthropic', path: '/anthropic/v1/messages', headers: { 'x-api-key': 'kgw_not-a-real-token' },
      body: { type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('not a live kage clone token') } } },
    { provider: 'openai', path: '/openai/v1/chat/completions', headers: bearer('sk-some-real-looking-key'),
      body: { error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } },
    { provider: 'gemini', path: '/gemini/v1beta/models/gemini-2.5-flash:generateContent', headers: {},
      body: { error: { code: 401, message: expect.stringContaining('no API key'), status: 'UNAUTHENTICATED' } } },
    { provider: 'ollama', path: '/ollama/api/chat', headers: bearer('kgw_x'), body: { error: expect.any(String) } },
  ] as const;

  it.each(SHAPES)('answers an unknown $provider token with 401 in $provider\'s error shape, without reaching the upstream', async ({ path, headers, body }) => {
    const before = recorder.exchanges.length;
    const reply = await send(`${gateway.url}${path}`, { headers, body: { model: 'm', messages: [] } });
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body.toString())).toEqual(body);
    expect(recorder.exchanges).toHaveLength(before);
  });

  it('refuses a token once it is revoked', async () => {
    const own = await gateway.issueToken({ taskId: task.taskId, cloneId: task.b });
    const ask = () => send(`${gateway.url}/ollama/api/tags`, { headers: bearer(own) });
    expect((await ask()).status).toBe(200);
    await gateway.revokeToken(own);
    expect((await ask()).status).toBe(401);
  });

  it('resolves through the store a token another gateway issued, as `kage gateway` run alone does', async () => {
    const other = await openGateway({ ollama: { baseUrl: recorder.url, apiKey: null } });
    const own = await gateway.issueToken({ taskId: task.taskId, cloneId: task.b });
    const before = recorder.exchanges.length;
    const reply = await send(`${other.url}/ollama/api/tags`, { headers: bearer(own) });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString()).models[0].name).toBe('mock-model:latest');
    // No key configured for that upstream: none is sent, and still not the token.
    expect(recorder.exchanges[before]!.headers.authorization).toBeUndefined();
    await gateway.revokeToken(own);
    expect((await send(`${other.url}/ollama/api/tags`, { headers: bearer(own) })).status).toBe(401);
  });
});

describe('pass-through', () => {
  it('passes an upstream error status through with its body and headers, and records the error', async () => {
    const count = metered.length;
    const exchanges = recorder.exchanges.length;
    const reply = await send(`${gateway.url}/anthropic/v1/messages`, { headers: { 'x-api-key': token },
      body: { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi [[mock:error429]]' }] } });
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.body.equals(recorder.exchanges[exchanges]!.response)).toBe(true);
    const message = JSON.parse(reply.body.toString()).error.message as string;
    expect(await meteredRecord(count, { status: 429 })).toMatchObject({ status: 429, error: message, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  });

  it('runs the steps before forwarding: a waiting step delays the request, a rejection reaches the client in the provider\'s shape', async () => {
    const calls: string[] = [];
    let admit!: () => void;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    const gw = await openGateway({ gemini: { baseUrl: recorder.url, apiKey: KEYS.gemini } }, { steps: [
      async (request) => {
        calls.push(`wait ${request.provider} ${request.model}`);
        await admitted;
        return null;
      },
      (request) => (request.grant.cloneId === task.b ? { status: 429, message: 'clone b is over its budget', headers: { 'retry-after': '7' } } : null),
    ] });
    const [ta, tb] = [await gw.issueToken({ taskId: task.taskId, cloneId: task.a }), await gw.issueToken({ taskId: task.taskId, cloneId: task.b })];
    const path = `${gw.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent`;
    const body = { contents: [{ role: 'user', parts: [{ text: prompt }] }] };
    const before = recorder.exchanges.length;
    const count = metered.length;
    const pending = Promise.all([send(path, { headers: { 'x-goog-api-key': ta }, body }), send(path, { headers: { 'x-goog-api-key': tb }, body })]);
    await waitFor('both requests to wait in the first step', async () => (calls.length === 2 ? true : undefined));
    expect(recorder.exchanges).toHaveLength(before);
    admit();
    const [ok, refused] = await pending;
    expect(ok.status).toBe(200);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('7');
    expect(JSON.parse(refused.body.toString())).toEqual({ error: { code: 429, message: 'clone b is over its budget', status: 'RESOURCE_EXHAUSTED' } });
    expect(recorder.exchanges).toHaveLength(before + 1);
    expect(await meteredRecord(count, { cloneId: task.b, status: 429 })).toMatchObject({ error: 'clone b is over its budget', inputTokens: 0 });
  });

  it('answers Codex\'s WebSocket attempt with 426 so it falls back to HTTPS', async () => {
    const reply = await send(`${gateway.url}/openai/v1/responses`, { headers: { ...bearer(token), connection: 'Upgrade', upgrade: 'websocket' } });
    expect(reply.status).toBe(426);
    expect(JSON.parse(reply.body.toString()).error.message).toMatch(/WebSocket/);
  });

  it('answers 502 in the provider\'s shape when the upstream cannot be reached', async () => {
    const port = await closedPort();
    const gw = await openGateway({ anthropic: { baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' } });
    const own = await gw.issueToken({ taskId: task.taskId, cloneId: task.a });
    const count = metered.length;
    const reply = await send(`${gw.url}/anthropic/v1/messages`, { headers: { 'x-api-key': own }, body: { model: 'claude-sonnet-4-5', messages: [] } });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body.toString())).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('ECONNREFUSED') } });
    // So kage's own worker reports the real endpoint as unreachable, as it would without the gateway.
    expect(reply.headers).toMatchObject({ 'x-kage-gateway-error': 'upstream-unreachable', 'x-kage-upstream': `http://127.0.0.1:${port}`,
      'x-kage-upstream-error': `connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(await meteredRecord(count, { status: 502 })).toMatchObject({ status: 502, error: expect.stringContaining('cannot reach') });
  });

  it('aborts the upstream request when the client disconnects mid-stream, and meters what had arrived', async () => {
    let upstreamClosedEarly: boolean | null = null;
    const upstream = await serveScripted((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":50,"output_tokens":1}}}\n\n');
      // Never ends on its own: only the gateway giving up on it closes it.
      res.on('close', () => (upstreamClosedEarly = !res.writableFinished));
    });
    const gw = await openGateway({ anthropic: { baseUrl: upstream.url, apiKey: 'k' } });
    const own = await gw.issueToken({ taskId: task.taskId, cloneId: task.a });
    const count = metered.length;
    await new Promise<void>((resolve, reject) => {
      const req = request(`${gw.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'x-api-key': own, 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, messages: [] }));
      setTimeout(() => reject(new Error('no first chunk')), 10_000).unref();
    });
    expect(await waitFor('the upstream to see the disconnect', async () => upstreamClosedEarly ?? undefined, 10_000)).toBe(true);
    expect(await meteredRecord(count, { error: 'the client disconnected' })).toMatchObject({ status: 200, error: 'the client disconnected', inputTokens: 50, stream: true });
  });

  it('streams each chunk as it arrives and holds the upstream back while the client does not read', async () => {
    const TOTAL = 128 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let blockedSince: number | null = null;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let upstreamDone = false;
    const upstream = await serveScripted((_request, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"first":true}\n\n');
      void released.then(async () => {
        while (written < TOTAL) {
          written += CHUNK.length;
          if (!res.write(CHUNK)) {
            blockedSince = Date.now();
            await new Promise((resolve) => res.once('drain', resolve));
            blockedSince = null;
          }
        }
        res.end(() => (upstreamDone = true));
      });
    });
    const gw = await openGateway({ openai: { baseUrl: upstream.url, apiKey: 'k' } });
    const own = await gw.issueToken({ taskId: task.taskId, cloneId: task.a });
    let received = 0;
    const reply = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      const req = request(`${gw.url}/openai/v1/chat/completions`, { method: 'POST', headers: { ...bearer(own), 'content-type': 'application/json' } }, resolve);
      req.end(JSON.stringify({ model: 'gpt-5', stream: true, messages: [] }));
    });
    onTestFinished(() => {
      reply.destroy();
    });
    // The first event arrives while the upstream is still holding the rest back: nothing waits for the whole answer.
    const first = await new Promise<Buffer>((resolve) => reply.once('data', resolve));
    expect(first.toString()).toBe('data: {"first":true}\n\n');
    received += first.length;
    reply.pause();
    release();
    // With the client not reading, the upstream must stay blocked on a full socket rather than hand everything over.
    await waitFor('the upstream to stay blocked', async () => (blockedSince !== null && Date.now() - blockedSince > 300 ? true : undefined), 20_000);
    const writtenWhilePaused = written;
    expect(writtenWhilePaused).toBeLessThan(TOTAL / 3);
    reply.on('data', (chunk: Buffer) => (received += chunk.length));
    reply.resume();
    await new Promise((resolve) => reply.once('end', resolve));
    expect(received).toBe(first.length + TOTAL);
    expect(upstreamDone).toBe(true);
    console.log(`backpressure: the upstream had written ${(writtenWhilePaused / 1024 / 1024).toFixed(1)} MiB of ${TOTAL / 1024 / 1024} MiB while the client paused`);
  });
});

describe('metering', () => {
  it('sums tokens and cost per clone and per task', async () => {
    const own = await storedTask();
    const [ta, tb] = [await gateway.issueToken({ taskId: own.taskId, cloneId: own.a }), await gateway.issueToken({ taskId: own.taskId, cloneId: own.b })];
    const count = metered.length;
    const anthropic = { model: 'claude-sonnet-4-5', max_tokens: 8, stream: true, messages: [{ role: 'user', content: prompt }] };
    await send(`${gateway.url}/anthropic/v1/messages`, { headers: { 'x-api-key': ta }, body: anthropic });
    await send(`${gateway.url}/anthropic/v1/messages`, { headers: { 'x-api-key': ta }, body: anthropic });
    await send(`${gateway.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent`, { headers: { 'x-goog-api-key': tb },
      body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] } });
    await waitFor('three metered requests', async () => (metered.slice(count).filter((r) => r.taskId === own.taskId).length === 3 ? true : undefined));
    const prices = createPriceTable();
    const f = MOCK_USAGE.finalTurn;
    const geminiUsage = { inputTokens: f.inputTokens - f.cacheReadTokens, outputTokens: f.outputTokens, cacheReadTokens: f.cacheReadTokens, cacheWriteTokens: 0 };
    const costA = 2 * prices.costUsd('claude-sonnet-4-5', f);
    const costB = prices.costUsd('gemini-2.5-flash', geminiUsage);

    const summary = await gatewayStore.gatewayUsage(own.taskId);
    const byClone = Object.fromEntries(summary.clones.map((c) => [c.cloneId, c]));
    expect(byClone[own.a]).toMatchObject({ requests: 2, inputTokens: 2 * f.inputTokens, outputTokens: 2 * f.outputTokens,
      cacheReadTokens: 2 * f.cacheReadTokens, cacheWriteTokens: 2 * f.cacheWriteTokens });
    expect(byClone[own.a]!.costUsd).toBeCloseTo(costA, 12);
    expect(byClone[own.b]).toMatchObject({ requests: 1, ...geminiUsage });
    expect(summary.total).toMatchObject({ cloneId: null, requests: 3, inputTokens: 2 * f.inputTokens + geminiUsage.inputTokens,
      outputTokens: 3 * f.outputTokens, cacheReadTokens: 3 * f.cacheReadTokens, cacheWriteTokens: 2 * f.cacheWriteTokens });
    expect(summary.total.costUsd).toBeCloseTo(costA + costB, 12);
  });
});

describe('kage gateway', () => {
  it('runs alone on the configured upstreams, resolves tokens other processes issued and stops on SIGTERM', async () => {
    const child = spawnKage(['gateway', '--port', '0'], { KAGE_HOME: tempDir('gateway-home'), DATABASE_URL: store.url,
      OLLAMA_HOST: recorder.url, OLLAMA_API_KEY: KEYS.ollama });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    // The listing is printed after the first line, possibly in a later chunk of output: wait for its last line.
    const url = await waitFor('the gateway to listen and list its routes', async () => {
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.output())?.[1];
      if (found && /^\s*ollama /m.test(child.output())) return found;
      throw new Error(`output so far: ${child.output().slice(-500)}`);
    }, 20_000);
    expect(child.output()).toContain(`ollama    ${url}/ollama -> ${recorder.url} (with its key)`);
    const own = await gateway.issueToken({ taskId: task.taskId, cloneId: task.b });
    const before = recorder.exchanges.length;
    const reply = await send(`${url}/ollama/api/chat`, { headers: bearer(own),
      body: { model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: prompt }] } });
    expect(reply.status).toBe(200);
    expect(recorder.exchanges[before]!.headers.authorization).toBe(`Bearer ${KEYS.ollama}`);
    expect((await send(`${url}/ollama/api/tags`, { headers: bearer('kgw_unknown') })).status).toBe(401);
    const rows = await waitFor('the metered row', async () => {
      const all = await gatewayStore.listGatewayRequests(task.taskId);
      return all.some((r) => r.cloneId === task.b && r.path === '/api/chat') ? all : undefined;
    });
    expect(rows.filter((r) => r.cloneId === task.b && r.path === '/api/chat')).toEqual([
      expect.objectContaining({ provider: 'ollama', status: 200, inputTokens: MOCK_USAGE.finalTurn.inputTokens, outputTokens: MOCK_USAGE.finalTurn.outputTokens }),
    ]);
    child.kill('SIGTERM');
    expect(await waitForExit(child, 'kage gateway')).toBe(0);
  });
});

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
