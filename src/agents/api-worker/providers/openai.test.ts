// The OpenAI provider against a scripted loopback server streaming canned SSE chunks: the wire format it
// sends, the fragments it reassembles, and how each way of failing is reported.
import { describe, expect, it } from 'vitest';
import { providerFailure } from '../../../../test/support/agent-fixtures.js';
import { serveScripted, sseEvent, writeJson, writeSse } from '../../../../test/support/scripted-http.js';
import type { ChatRequest } from '../provider.js';
import { TOOL_SPECS } from '../tools/specs.js';
import { createOpenAiProvider, OPENAI_DEFAULT_BASE_URL } from './openai.js';

function provider(env: NodeJS.ProcessEnv) {
  return createOpenAiProvider({ env, connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
}

const request: ChatRequest = {
  model: 'gpt-4.1',
  tools: TOOL_SPECS,
  maxTokens: null,
  messages: [
    { role: 'system', text: 'be useful' },
    { role: 'user', text: 'make a.txt' },
    { role: 'assistant', text: '', toolCalls: [{ id: 'call_1', name: 'write_file', input: { path: '../a.txt', content: 'A' } }] },
    { role: 'tool', callId: 'call_1', name: 'write_file', output: 'Refusing "../a.txt"', isError: true },
    { role: 'assistant', text: 'Let me retry.', toolCalls: [] },
    { role: 'user', text: 'go on' },
  ],
};

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
  sseEvent({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }], usage: null });

/** Text in two deltas; two tool calls whose fragments interleave, arguments split mid-token; usage; [DONE]. */
const answer = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Let me ' }),
  chunk({ content: 'look.' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"pa' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'search', arguments: '{"text":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"src/a.ts"}' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '"TODO"}' } }] }),
  chunk({}, 'tool_calls'),
  sseEvent({
    id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [],
    usage: { prompt_tokens: 2500, completion_tokens: 40, total_tokens: 2540, prompt_tokens_details: { cached_tokens: 2048 } },
  }),
  sseEvent('[DONE]'),
];

describe('createOpenAiProvider', () => {
  it('reassembles streamed text and tool-call fragments and counts cached prompt tokens apart', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    const turn = await provider({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' }).chat(request);
    expect(turn).toEqual({
      text: 'Let me look.',
      toolCalls: [
        { id: 'call_a', name: 'read_file', input: { path: 'src/a.ts' } },
        { id: 'call_b', name: 'search', input: { text: 'TODO' } },
      ],
      inputTokens: 452,
      outputTokens: 40,
      cacheReadTokens: 2048,
      cacheWriteTokens: 0,
    });
  });

  it('sends the conversation and tools in the Chat Completions format with a bearer key', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await provider({ OPENAI_BASE_URL: `${server.url}/v1/`, OPENAI_API_KEY: 'sk-test' }).chat(request);
    const [sent] = server.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(sent!.headers).toMatchObject({ authorization: 'Bearer sk-test', 'content-type': 'application/json' });
    expect(sent!.body).toEqual({
      model: 'gpt-4.1',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'be useful' },
        { role: 'user', content: 'make a.txt' },
        {
          role: 'assistant', content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: '{"path":"../a.txt","content":"A"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Error: Refusing "../a.txt"' },
        { role: 'assistant', content: 'Let me retry.' },
        { role: 'user', content: 'go on' },
      ],
      tools: TOOL_SPECS.map((spec) => ({ type: 'function', function: spec })),
    });
  });

  it('sends no key to a server configured without one, and the run\'s max tokens as max_completion_tokens', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await provider({ OPENAI_BASE_URL: server.url }).chat({ ...request, maxTokens: 999 });
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    expect(server.requests[0]!.body.max_completion_tokens).toBe(999);
  });

  it('takes whole tool calls without an index and a stream that finishes without [DONE]', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, [
      chunk({ tool_calls: [{ id: 'c1', function: { name: 'list_files', arguments: '{}' } }, { id: 'c2', function: { name: 'read_file', arguments: { path: 'a' } } }] }, 'tool_calls'),
    ]));
    const turn = await provider({ OPENAI_BASE_URL: server.url }).chat(request);
    expect(turn.toolCalls).toEqual([{ id: 'c1', name: 'list_files', input: {} }, { id: 'c2', name: 'read_file', input: { path: 'a' } }]);
    expect(turn.inputTokens).toBe(0);
  });

  it.each([
    [400, 'Invalid schema for function \'write_file\'', 'api'],
    [401, 'Incorrect API key provided: sk-test.', 'auth'],
    [429, 'Rate limit reached for gpt-4.1 on tokens per min (TPM)', 'rate_limit'],
    [500, 'The server had an error while processing your request.', 'api'],
  ])('reports HTTP %i with its kind and the API\'s message', async (status, message, kind) => {
    const server = await serveScripted((_req, res) => writeJson(res, status, { error: { message, type: 'x', param: null, code: null } }));
    const err = await providerFailure(provider({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' }).chat(request));
    expect(err).toMatchObject({ kind, status, message: `OpenAI returned HTTP ${status}: ${message}` });
  });

  it('reads the error bodies of compatible servers that differ from OpenAI\'s', async () => {
    const server = await serveScripted((_req, res, n) =>
      n === 0 ? writeJson(res, 404, { detail: 'Not Found' }) : writeJson(res, 502, '<html>Bad Gateway</html>'));
    expect(await providerFailure(provider({ OPENAI_BASE_URL: server.url }).chat(request))).toMatchObject({ status: 404, message: 'OpenAI returned HTTP 404: Not Found' });
    expect(await providerFailure(provider({ OPENAI_BASE_URL: server.url }).chat(request))).toMatchObject({ status: 502, message: 'OpenAI returned HTTP 502: <html>Bad Gateway</html>' });
  });

  it('reports an error chunk in the middle of the stream', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, [answer[1]!, sseEvent({ error: { message: 'Rate limit exceeded', type: 'rate_limit_exceeded' } })]));
    expect(await providerFailure(provider({ OPENAI_BASE_URL: server.url }).chat(request))).toMatchObject({
      kind: 'rate_limit', status: null, message: 'OpenAI error (rate_limit_exceeded): Rate limit exceeded',
    });
  });

  it('reports a stream that ends before the answer finished as a network error, cut or closed', async () => {
    const cut = await serveScripted((_req, res) => writeSse(res, answer.slice(0, 5), { cut: true }));
    expect(await providerFailure(provider({ OPENAI_BASE_URL: cut.url }).chat(request))).toMatchObject({ kind: 'network', status: null });
    const closed = await serveScripted((_req, res) => writeSse(res, answer.slice(0, 5)));
    expect(await providerFailure(provider({ OPENAI_BASE_URL: closed.url }).chat(request))).toMatchObject({
      kind: 'network',
      message: `OpenAI at ${closed.url} ended the stream before the answer finished`,
    });
  });

  it('fails at once as unreachable when nothing listens', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await server.close();
    const p = provider({ OPENAI_BASE_URL: `${server.url}/v1` });
    const hostPort = server.url.replace('http://', '');
    expect(await providerFailure(p.probe())).toMatchObject({ kind: 'unreachable', message: `cannot reach OpenAI at ${server.url}/v1: connect ECONNREFUSED ${hostPort}` });
    expect(await providerFailure(p.chat(request))).toMatchObject({ kind: 'unreachable', status: null });
  });

  it('asks for a key before calling OpenAI\'s own API without one', async () => {
    expect(await providerFailure(provider({}).probe())).toMatchObject({
      kind: 'auth',
      message: `no API key for OpenAI at ${OPENAI_DEFAULT_BASE_URL}: set OPENAI_API_KEY or providers.openai.apiKey`,
    });
  });
});
