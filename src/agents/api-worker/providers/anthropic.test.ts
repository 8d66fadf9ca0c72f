// The Anthropic provider against a scripted loopback server streaming canned SSE: the wire format it sends,
// the events it reads, and how each way of failing is reported.
import { describe, expect, it } from 'vitest';
import { providerFailure } from '../../../../test/support/agent-fixtures.js';
import { anthropicEvents, serveScripted, writeJson, writeSse } from '../../../../test/support/scripted-http.js';
import type { ChatRequest } from '../provider.js';
import { TOOL_SPECS } from '../tools/specs.js';
import { ANTHROPIC_DEFAULT_BASE_URL, ANTHROPIC_DEFAULT_MAX_TOKENS, ANTHROPIC_VERSION, createAnthropicProvider } from './anthropic.js';

function provider(env: NodeJS.ProcessEnv) {
  return createAnthropicProvider({ env, connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
}

const request: ChatRequest = {
  model: 'claude-sonnet-4-5',
  tools: TOOL_SPECS,
  maxTokens: null,
  messages: [
    { role: 'system', text: 'be useful' },
    { role: 'user', text: 'make a.txt' },
    {
      role: 'assistant', text: 'Writing.', toolCalls: [
        { id: 'toolu_1', name: 'write_file', input: { path: '../a.txt', content: 'A' } },
        { id: 'toolu_2', name: 'read_file', input: { path: 'empty.txt' } },
      ],
    },
    { role: 'tool', callId: 'toolu_1', name: 'write_file', output: 'Refusing "../a.txt"', isError: true },
    { role: 'tool', callId: 'toolu_2', name: 'read_file', output: '', isError: false },
  ],
};

/** A whole answer: "Let me look." in two deltas, a read_file call whose JSON input arrives in three pieces. */
const answer = anthropicEvents([
  {
    type: 'message_start',
    message: {
      id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5', stop_reason: null,
      usage: { input_tokens: 21, cache_creation_input_tokens: 1500, cache_read_input_tokens: 3000, output_tokens: 1 },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'look.' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_9', name: 'read_file', input: {} } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"pa' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'th": "src/a' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '.ts"}' } },
  { type: 'content_block_stop', index: 1 },
  { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_10', name: 'list_files', input: {} } },
  { type: 'content_block_stop', index: 2 },
  { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 87 } },
  { type: 'message_stop' },
]);

describe('createAnthropicProvider', () => {
  it('reads streamed text, tool inputs streamed in pieces, and the usage with cache reads and writes', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    const turn = await provider({ ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'sk-ant-test' }).chat(request);
    expect(turn).toEqual({
      text: 'Let me look.',
      toolCalls: [
        { id: 'toolu_9', name: 'read_file', input: { path: 'src/a.ts' } },
        { id: 'toolu_10', name: 'list_files', input: {} },
      ],
      inputTokens: 21,
      outputTokens: 87,
      cacheReadTokens: 3000,
      cacheWriteTokens: 1500,
    });
  });

  it('sends the system prompt on top, tool results as one user message of tool_result blocks, and cache breakpoints', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await provider({ ANTHROPIC_BASE_URL: `${server.url}/`, ANTHROPIC_API_KEY: 'sk-ant-test' }).chat(request);
    const [sent] = server.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(sent!.headers).toMatchObject({ 'x-api-key': 'sk-ant-test', 'anthropic-version': ANTHROPIC_VERSION, 'content-type': 'application/json' });
    expect(sent!.headers.authorization).toBeUndefined();
    expect(sent!.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      stream: true,
      system: [{ type: 'text', text: 'be useful', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'make a.txt' }] },
        {
          role: 'assistant', content: [
            { type: 'text', text: 'Writing.' },
            { type: 'tool_use', id: 'toolu_1', name: 'write_file', input: { path: '../a.txt', content: 'A' } },
            { type: 'tool_use', id: 'toolu_2', name: 'read_file', input: { path: 'empty.txt' } },
          ],
        },
        {
          role: 'user', content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Refusing "../a.txt"', is_error: true },
            { type: 'tool_result', tool_use_id: 'toolu_2', is_error: false, cache_control: { type: 'ephemeral' } },
          ],
        },
      ],
      tools: TOOL_SPECS.map((spec) => ({ name: spec.name, description: spec.description, input_schema: spec.parameters })),
    });
  });

  it('sends ANTHROPIC_AUTH_TOKEN as a bearer token and the run\'s max tokens', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await provider({ ANTHROPIC_BASE_URL: server.url, ANTHROPIC_AUTH_TOKEN: 'tok' }).chat({ ...request, maxTokens: 1234 });
    expect(server.requests[0]!.headers).toMatchObject({ authorization: 'Bearer tok' });
    expect(server.requests[0]!.headers['x-api-key']).toBeUndefined();
    expect(server.requests[0]!.body.max_tokens).toBe(1234);
  });

  it.each([
    [400, 'invalid_request_error', 'messages.1.content.0: text content blocks must be non-empty', 'api'],
    [401, 'authentication_error', 'invalid x-api-key', 'auth'],
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', 'rate_limit'],
    [500, 'api_error', 'Internal server error', 'api'],
    [529, 'overloaded_error', 'Overloaded', 'overloaded'],
  ])('reports HTTP %i with its kind and Anthropic\'s message', async (status, type, message, kind) => {
    const server = await serveScripted((_req, res) => writeJson(res, status, { type: 'error', error: { type, message } }, status === 429 ? { 'retry-after': '17' } : {}));
    const err = await providerFailure(provider({ ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'k' }).chat(request));
    expect(err).toMatchObject({ kind, status, message: `Anthropic returned HTTP ${status}: ${message}${status === 429 ? ' (Retry-After: 17)' : ''}` });
  });

  it('reports an error event in the middle of the stream with the kind its type means', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, [
      ...answer.slice(0, 3),
      ...anthropicEvents([{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]),
    ]));
    const err = await providerFailure(provider({ ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'k' }).chat(request));
    expect(err).toMatchObject({ kind: 'overloaded', status: null, message: 'Anthropic error (overloaded_error): Overloaded' });
  });

  it('reports a stream that ends before message_stop as a network error, cut or closed', async () => {
    const cut = await serveScripted((_req, res) => writeSse(res, answer.slice(0, 9), { cut: true }));
    expect(await providerFailure(provider({ ANTHROPIC_BASE_URL: cut.url, ANTHROPIC_API_KEY: 'k' }).chat(request))).toMatchObject({ kind: 'network', status: null });
    const closed = await serveScripted((_req, res) => writeSse(res, answer.slice(0, -1)));
    expect(await providerFailure(provider({ ANTHROPIC_BASE_URL: closed.url, ANTHROPIC_API_KEY: 'k' }).chat(request))).toMatchObject({
      kind: 'network',
      message: `Anthropic at ${closed.url} ended the stream before message_stop`,
    });
  });

  it('fails at once as unreachable when nothing listens', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, answer));
    await server.close();
    const p = provider({ ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'k' });
    const hostPort = server.url.replace('http://', '');
    expect(await providerFailure(p.probe())).toMatchObject({ kind: 'unreachable', message: `cannot reach Anthropic at ${server.url}: connect ECONNREFUSED ${hostPort}` });
    expect(await providerFailure(p.chat(request))).toMatchObject({ kind: 'unreachable', status: null });
  });

  it('asks for a key before calling Anthropic\'s own API without one, and refuses a base URL that is not http(s)', async () => {
    expect(await providerFailure(provider({}).probe())).toMatchObject({
      kind: 'auth',
      message: `no API key for Anthropic at ${ANTHROPIC_DEFAULT_BASE_URL}: set ANTHROPIC_API_KEY or providers.anthropic.apiKey`,
    });
    expect(await providerFailure(provider({ ANTHROPIC_BASE_URL: 'api.example.com', ANTHROPIC_API_KEY: 'k' }).probe())).toMatchObject({
      kind: 'unreachable',
      message: 'cannot reach Anthropic at api.example.com: ANTHROPIC_BASE_URL is not an http(s) URL',
    });
  });
});
