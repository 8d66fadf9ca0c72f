// The Ollama provider against a small scripted HTTP server: the wire format it sends, the NDJSON it reads,
// and how each way of failing is reported.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError, type ChatRequest } from '../provider.js';
import { TOOL_SPECS } from '../tools/specs.js';
import { createOllamaProvider } from './ollama.js';

type Handler = (body: any, res: ServerResponse) => void;
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => {
    s.closeAllConnections();
    s.close(resolve);
  })));
});

async function serve(handler: Handler): Promise<{ host: string; bodies: any[] }> {
  const bodies: any[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = JSON.parse(raw);
      bodies.push(body);
      handler(body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const ndjson = (res: ServerResponse, lines: unknown[]) => {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
  res.end();
};

function provider(host: string) {
  return createOllamaProvider({ env: { OLLAMA_HOST: host }, connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
}

const request: ChatRequest = {
  model: 'qwen2.5-coder:7b',
  tools: TOOL_SPECS,
  maxTokens: null,
  messages: [
    { role: 'system', text: 'be useful' },
    { role: 'user', text: 'make a.txt' },
    { role: 'assistant', text: '', toolCalls: [{ id: 'call_1', name: 'write_file', input: { path: 'a.txt', content: 'A' } }] },
    { role: 'tool', callId: 'call_1', name: 'write_file', output: 'Refusing "../a"', isError: true },
  ],
};

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  if (!(err instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(err)}`);
  return err;
}

describe('createOllamaProvider', () => {
  it('sends the conversation and tools in Ollama\'s format and reads text deltas, tool calls and token counts', async () => {
    const { host, bodies } = await serve((_body, res) => ndjson(res, [
      { message: { role: 'assistant', content: 'Let me ' }, done: false },
      { message: { role: 'assistant', content: 'look.' }, done: false },
      { message: { role: 'assistant', content: '', tool_calls: [
        { function: { name: 'read_file', arguments: { path: 'a.txt' } } },
        { id: 'call_x', function: { name: 'list_files', arguments: '{"path":"src"}' } },
      ] }, done: false },
      { message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 321, eval_count: 45 },
    ]));
    const turn = await provider(host).chat(request);
    expect(turn).toEqual({
      text: 'Let me look.',
      toolCalls: [
        { id: 'call_1', name: 'read_file', input: { path: 'a.txt' } },
        { id: 'call_x', name: 'list_files', input: { path: 'src' } },
      ],
      inputTokens: 321,
      outputTokens: 45,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    expect(bodies[0]).toEqual({
      model: 'qwen2.5-coder:7b',
      stream: true,
      messages: [
        { role: 'system', content: 'be useful' },
        { role: 'user', content: 'make a.txt' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', function: { name: 'write_file', arguments: { path: 'a.txt', content: 'A' } } }] },
        { role: 'tool', tool_name: 'write_file', tool_call_id: 'call_1', content: 'Error: Refusing "../a"' },
      ],
      tools: TOOL_SPECS.map((spec) => ({ type: 'function', function: spec })),
    });
  });

  it('passes the run\'s max tokens as num_predict', async () => {
    const { host, bodies } = await serve((_body, res) => ndjson(res, [{ message: { role: 'assistant', content: 'ok' }, done: true }]));
    await provider(host).chat({ ...request, maxTokens: 500 });
    expect(bodies[0].options).toEqual({ num_predict: 500 });
  });

  it('reports an HTTP error with its status and Ollama\'s message', async () => {
    const { host } = await serve((_body, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"registry.ollama.ai/library/tiny does not support tools"}');
    });
    const err = await failure(provider(host).chat(request));
    expect(err).toMatchObject({ kind: 'api', status: 400, message: 'Ollama returned HTTP 400: registry.ollama.ai/library/tiny does not support tools' });
  });

  it('reports an error chunk in the stream', async () => {
    const { host } = await serve((_body, res) => ndjson(res, [{ error: 'model runner has unexpectedly stopped' }]));
    expect(await failure(provider(host).chat(request))).toMatchObject({ kind: 'api', status: null, message: 'Ollama error: model runner has unexpectedly stopped' });
  });

  it('reports a stream cut before its final chunk as a network error', async () => {
    const { host } = await serve((_body, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"message":{"role":"assistant","content":"par"},"done":false}\n');
      setImmediate(() => res.socket?.destroy());
    });
    expect(await failure(provider(host).chat(request))).toMatchObject({ kind: 'network', status: null });
  });

  it('probes the address and fails at once as unreachable when nothing listens', async () => {
    const { host } = await serve((_body, res) => ndjson(res, []));
    await provider(host).probe();
    await new Promise((resolve) => {
      servers[0]!.closeAllConnections();
      servers[0]!.close(resolve);
    });
    const started = Date.now();
    const err = await failure(provider(host).probe());
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe(`cannot reach Ollama at http://${host}: connect ECONNREFUSED ${host}`);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await failure(provider(host).chat(request))).toMatchObject({ kind: 'unreachable', message: expect.stringMatching(/^cannot reach Ollama at /) });
  });
});
