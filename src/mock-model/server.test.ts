import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postJson } from './mock-client.js';
import { REDACTED } from './request-log.js';
import { ScenarioError } from './scenario.js';
import { startMockModelServer, type MockModelServer } from './server.js';
import { MOCK_USAGE } from './usage.js';

let server: MockModelServer;
let dir: string;
let logFile: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kage-mock-model-'));
  logFile = join(dir, 'requests.jsonl');
  server = await startMockModelServer({ logFile });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The smallest request of each protocol whose user text is `text`. */
const PROTOCOLS = [
  { name: 'anthropic', path: '/v1/messages', body: (text: string) => ({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: text }] }) },
  { name: 'openai-chat', path: '/v1/chat/completions', body: (text: string) => ({ model: 'm', messages: [{ role: 'user', content: text }] }) },
  { name: 'openai-responses', path: '/v1/responses', body: (text: string) => ({ model: 'm', input: text }) },
  { name: 'gemini', path: '/v1beta/models/m:generateContent', body: (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] }) },
  { name: 'ollama', path: '/api/chat', body: (text: string) => ({ model: 'm', stream: false, messages: [{ role: 'user', content: text }] }) },
] as const;

const ERROR_BODIES: Record<(typeof PROTOCOLS)[number]['name'], (status: number) => unknown> = {
  anthropic: (s) => ({ type: 'error', error: { type: 'invalid_request_error', message: `mock ${s} error` } }),
  'openai-chat': (s) => ({ error: { message: `mock ${s} error`, type: 'invalid_request_error', code: s } }),
  'openai-responses': (s) => ({ error: { message: `mock ${s} error`, type: 'invalid_request_error', code: s } }),
  gemini: (s) => ({ error: { code: s, message: `mock ${s} error`, status: 'INVALID_ARGUMENT' } }),
  ollama: (s) => ({ error: `mock ${s} error` }),
};

describe('error scenarios', () => {
  for (const protocol of PROTOCOLS) {
    it(`answers ${protocol.name} with the status and the error body its clients parse`, async () => {
      for (const status of [400, 401, 500]) {
        const res = await postJson(`${server.url}${protocol.path}`, protocol.body(`[[mock:error${status}]] hi`));
        expect(res.status).toBe(status);
        expect(JSON.parse(res.text)).toEqual(ERROR_BODIES[protocol.name](status));
      }
      const limited = await postJson(`${server.url}${protocol.path}`, protocol.body('[[mock:error429]]'));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
    });
  }

  it('reports a marker naming no scenario as a 400 in the protocol\'s shape', async () => {
    const res = await postJson(`${server.url}/v1/messages`, PROTOCOLS[0].body('[[mock:dance]]'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.message).toMatch(/Unknown mock scenario `dance`/);
  });
});

describe('text, slow and loop', () => {
  it('answers text on every protocol with final-turn usage', async () => {
    const chat = JSON.parse((await postJson(`${server.url}/v1/chat/completions`, PROTOCOLS[1].body('[[mock:text]]'))).text);
    expect(chat.choices[0].message.content).toBe('Hello from mock.');
    expect(chat.usage.prompt_tokens).toBe(MOCK_USAGE.finalTurn.inputTokens);
    const gemini = JSON.parse((await postJson(`${server.url}/v1beta/models/m:generateContent`, PROTOCOLS[3].body('[[mock:text text=hi%20there]]'))).text);
    expect(gemini.candidates[0].content.parts[0].text).toBe('hi there');
  });

  it('waits delayMs before each streamed chunk', async () => {
    const body = {
      model: 'm', stream: true, max_tokens: 10,
      messages: [{ role: 'user', content: '[[mock:slow delayMs=40]] go' }],
      tools: [{ name: 'Write', input_schema: { properties: { file_path: {}, content: {} } } }],
    };
    const started = performance.now();
    const res = await postJson(`${server.url}/v1/messages`, body);
    const elapsedMs = performance.now() - started;
    expect(res.text.match(/^event: /gm)).toHaveLength(7);
    expect(elapsedMs).toBeGreaterThanOrEqual(7 * 40 - 10);
    expect(res.text).toContain('"name":"Write"');
  });

  it('keeps calling tools in loop, even after tool results', async () => {
    const tools = [{ type: 'function', name: 'exec_command', parameters: { properties: { cmd: {} } } }];
    const input: unknown[] = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '[[mock:loop]]' }] }];
    const commands: string[] = [];
    for (let turn = 0; turn < 3; turn += 1) {
      const body = JSON.parse((await postJson(`${server.url}/v1/responses`, { model: 'm', input, tools })).text);
      const [item] = body.output;
      expect(item.type).toBe('function_call');
      commands.push(JSON.parse(item.arguments).cmd);
      expect(body.usage.input_tokens).toBe(MOCK_USAGE.toolTurn.inputTokens);
      input.push(item, { type: 'function_call_output', call_id: item.call_id, output: 'ok' });
    }
    expect(new Set(commands).size).toBe(3);
  });
});

describe('hang', () => {
  it('never answers, and forgets the request when the client aborts', async () => {
    const controller = new AbortController();
    const pending = postJson(`${server.url}/v1/chat/completions`, PROTOCOLS[1].body('[[mock:hang]] tag=abort-me'), {}, controller.signal);
    await vi.waitFor(() => expect(server.requests().some((r) => r.scenario === 'hang')).toBe(true));
    controller.abort();
    await expect(pending).rejects.toThrow();
    // The JSONL line is written when the response is over: here, when the server saw the disconnect.
    await vi.waitFor(() => expect(readFileSync(logFile, 'utf8')).toContain('abort-me'));
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('abort-me'))!;
    expect(JSON.parse(line)).toMatchObject({ scenario: 'hang', status: null, usage: null });
    const after = await postJson(`${server.url}/v1/chat/completions`, PROTOCOLS[1].body('[[mock:text]]'));
    expect(after.status).toBe(200);
  });

  it('ends hung requests when the server closes', async () => {
    const own = await startMockModelServer({ scenario: 'hang' });
    const pending = postJson(`${own.url}/api/chat`, PROTOCOLS[4].body('hello'));
    pending.catch(() => undefined);
    await vi.waitFor(() => expect(own.requests()).toHaveLength(1));
    await own.close();
    await expect(pending).rejects.toThrow();
  });
});

describe('request log', () => {
  it('records each request with redacted credentials, parsed body, status, tool and usage', async () => {
    server.clearRequests();
    const body = {
      model: 'claude-x', max_tokens: 10,
      messages: [{ role: 'user', content: 'go' }, { role: 'system', content: 'Primary working directory: /w' }],
      tools: [{ name: 'Write', input_schema: { properties: { file_path: {}, content: {} } } }],
    };
    await postJson(`${server.url}/v1/messages?beta=true`, body, { 'x-api-key': 'sk-1', authorization: 'Bearer sk-2', 'x-goog-api-key': 'g-3', 'x-app': 'cli' });
    await fetch(`${server.url}/v1beta/models/m:generateContent?key=g-4`, { method: 'POST', body: JSON.stringify(PROTOCOLS[3].body('[[mock:error500]]')) });
    const records = server.requests();
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      method: 'POST', path: '/v1/messages?beta=true', protocol: 'anthropic', scenario: 'write', model: 'claude-x', tool: 'Write', status: 200,
      usage: MOCK_USAGE.toolTurn, body,
    });
    expect(records[0]!.headers).toMatchObject({ 'x-api-key': REDACTED, authorization: REDACTED, 'x-goog-api-key': REDACTED, 'x-app': 'cli' });
    expect(Date.parse(records[0]!.time)).not.toBeNaN();
    expect(records[1]).toMatchObject({ path: `/v1beta/models/m:generateContent?key=${encodeURIComponent(REDACTED)}`, protocol: 'gemini', scenario: 'error500', status: 500, usage: null });
    const text = JSON.stringify(records);
    for (const secret of ['sk-1', 'sk-2', 'g-3', 'g-4']) expect(text).not.toContain(secret);
  });

  it('serves the log over HTTP and clears it with DELETE', async () => {
    server.clearRequests();
    await postJson(`${server.url}/api/chat`, PROTOCOLS[4].body('[[mock:text]]'));
    const listed = await (await fetch(`${server.url}/_mock/requests`)).json();
    expect(listed.requests).toHaveLength(1);
    expect(listed.requests[0]).toMatchObject({ path: '/api/chat', protocol: 'ollama', status: 200 });
    expect((await fetch(`${server.url}/_mock/requests`, { method: 'DELETE' })).status).toBe(204);
    expect(server.requests()).toHaveLength(0);
  });

  it('appends each finished request to the log file as one JSON line', async () => {
    await postJson(`${server.url}/v1/chat/completions`, PROTOCOLS[1].body('[[mock:text]] file-line-check'));
    await vi.waitFor(() => expect(readFileSync(logFile, 'utf8')).toContain('file-line-check'));
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((l) => JSON.stringify(l.body).includes('file-line-check'))).toMatchObject({ protocol: 'openai-chat', status: 200, scenario: 'text' });
  });
});

describe('probes and bad requests', () => {
  it('answers HEAD probes and unknown paths with 404 JSON, and logs them', async () => {
    for (const path of ['/', '/api/hello']) expect((await fetch(`${server.url}${path}`, { method: 'HEAD' })).status).toBe(404);
    const res = await fetch(`${server.url}/v1/nothing`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toMatch(/no route for POST \/v1\/nothing/);
    expect(server.requests().some((r) => r.method === 'HEAD' && r.path === '/api/hello' && r.status === 404)).toBe(true);
  });

  it('rejects a body that is not a JSON object with the protocol\'s 400', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: 'not json' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(400);
  });

  it('uses the default scenario given at start, and refuses an invalid one', async () => {
    const own = await startMockModelServer({ scenario: 'error503' });
    try {
      expect((await postJson(`${own.url}/api/chat`, PROTOCOLS[4].body('hi'))).status).toBe(503);
      expect((await postJson(`${own.url}/api/chat`, PROTOCOLS[4].body('[[mock:text]]'))).status).toBe(200);
    } finally {
      await own.close();
    }
    await expect(startMockModelServer({ scenario: 'nope' })).rejects.toThrow(ScenarioError);
  });
});

describe('flaky scenario', () => {
  it('fails the first `times` requests of a conversation with the status and Retry-After, then answers', async () => {
    const body = PROTOCOLS[0].body('[[mock:flaky status=529 times=2 retryAfter=2]] fix it');
    for (let i = 0; i < 2; i += 1) {
      const failed = await postJson(`${server.url}/v1/messages`, body);
      expect(failed.status).toBe(529);
      expect(failed.headers.get('retry-after')).toBe('2');
    }
    const answered = await postJson(`${server.url}/v1/messages`, body);
    expect(answered.status).toBe(200);
    // Another conversation with the same marker starts its own count.
    const other = await postJson(`${server.url}/v1/messages`, PROTOCOLS[0].body('[[mock:flaky status=529 times=2 retryAfter=2]] another task'));
    expect(other.status).toBe(529);
  });
});
