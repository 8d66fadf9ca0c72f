// The Ollama provider against a small scripted HTTP server: the wire format it sends, the NDJSON it reads,
// and how each way of failing is reported.
import { describe, expect, it } from 'vitest';
import { providerFailure } from '../../../../test/support/agent-fixtures.js';
import { serveScripted, writeJson, writeNdjson, type ScriptedHandler, type ScriptedServer } from '../../../../test/support/scripted-http.js';
import type { ChatRequest } from '../provider.js';
import { TOOL_SPECS } from '../tools/specs.js';
import { createOllamaProvider } from './ollama.js';

/** A scripted server and its address the way OLLAMA_HOST gives it: `127.0.0.1:<port>`, no scheme. */
async function serve(handler: ScriptedHandler): Promise<{ host: string; server: ScriptedServer }> {
  const server = await serveScripted(handler);
  return { host: new URL(server.url).host, server };
}

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

describe('createOllamaProvider', () => {
  it('sends the conversation and tools in Ollama\'s format and reads text deltas, tool calls and token counts', async () => {
    const { host, server } = await serve((_req, res) => writeNdjson(res, [
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
    expect(server.requests[0]!.body).toEqual({
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
    const { host, server } = await serve((_req, res) => writeNdjson(res, [{ message: { role: 'assistant', content: 'ok' }, done: true }]));
    await provider(host).chat({ ...request, maxTokens: 500 });
    expect(server.requests[0]!.body.options).toEqual({ num_predict: 500 });
  });

  it('reports an HTTP error with its status and Ollama\'s message', async () => {
    const { host } = await serve((_req, res) => writeJson(res, 400, { error: 'registry.ollama.ai/library/tiny does not support tools' }));
    const err = await providerFailure(provider(host).chat(request));
    expect(err).toMatchObject({ kind: 'api', status: 400, message: 'Ollama returned HTTP 400: registry.ollama.ai/library/tiny does not support tools' });
  });

  it('reports an error chunk in the stream', async () => {
    const { host } = await serve((_req, res) => writeNdjson(res, [{ error: 'model runner has unexpectedly stopped' }]));
    expect(await providerFailure(provider(host).chat(request))).toMatchObject({ kind: 'api', status: null, message: 'Ollama error: model runner has unexpectedly stopped' });
  });

  it('reports a stream cut before its final chunk as a network error', async () => {
    const { host } = await serve((_req, res) => writeNdjson(res, [{ message: { role: 'assistant', content: 'par' }, done: false }], { cut: true }));
    expect(await providerFailure(provider(host).chat(request))).toMatchObject({ kind: 'network', status: null });
  });

  it('probes the address and fails at once as unreachable when nothing listens', async () => {
    const { host, server } = await serve((_req, res) => writeNdjson(res, []));
    await provider(host).probe();
    await server.close();
    const started = Date.now();
    const err = await providerFailure(provider(host).probe());
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe(`cannot reach Ollama at http://${host}: connect ECONNREFUSED ${host}`);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await providerFailure(provider(host).chat(request))).toMatchObject({ kind: 'unreachable', message: expect.stringMatching(/^cannot reach Ollama at /) });
  });

  it('sends OLLAMA_API_KEY as a Bearer token, and no authorization header without one', async () => {
    const { host, server } = await serve((_req, res) => writeNdjson(res, [{ message: { role: 'assistant', content: 'ok' }, done: true }]));
    await createOllamaProvider({ env: { OLLAMA_HOST: host, OLLAMA_API_KEY: 'kgw_token' }, connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 }).chat(request);
    await provider(host).chat(request);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer kgw_token', undefined]);
  });

  it('reports the real endpoint as unreachable when kage\'s gateway could not connect to it', async () => {
    const { host } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'application/json', 'x-kage-gateway-error': 'upstream-unreachable',
        'x-kage-upstream': 'http://127.0.0.1:9', 'x-kage-upstream-error': 'connect ECONNREFUSED 127.0.0.1:9' });
      res.end(JSON.stringify({ error: 'kage gateway: cannot reach http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9' }));
    });
    expect(await providerFailure(provider(host).chat(request))).toEqual(expect.objectContaining({ kind: 'unreachable',
      message: 'cannot reach Ollama at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9 (through kage\'s gateway)' }));
  });
});
