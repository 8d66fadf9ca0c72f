import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, postJson } from './mock-client.js';
import { startMockModelServer, type MockModelServer } from './server.js';

let server: MockModelServer;
beforeAll(async () => {
  server = await startMockModelServer();
});
afterAll(() => server.close());

const PATH = { type: 'string', description: 'Path relative to the working directory' };
/** The tools kage's API worker offers (src/agents/api-worker/tools/specs.ts), in Ollama's format. */
const TOOLS = [
  { type: 'function', function: { name: 'read_file', parameters: { type: 'object', properties: { path: PATH }, required: ['path'] } } },
  { type: 'function', function: { name: 'write_file', parameters: { type: 'object', properties: { path: PATH, content: { type: 'string' } }, required: ['path', 'content'] } } },
  { type: 'function', function: { name: 'list_files', parameters: { type: 'object', properties: { path: PATH }, required: [] } } },
];

function workerTurn(extra: unknown[] = [], stream?: boolean): Record<string, unknown> {
  return {
    model: 'qwen3:8b',
    ...(stream === undefined ? {} : { stream }),
    messages: [{ role: 'system', content: 'You are a coding agent.' }, { role: 'user', content: 'create hello.txt' }, ...extra],
    tools: TOOLS,
  };
}

const TOOL_EXCHANGE = [
  { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', function: { name: 'write_file', arguments: { path: 'hello.txt', content: 'x' } } }] },
  { role: 'tool', tool_name: 'write_file', tool_call_id: 'call_1', content: 'Wrote hello.txt' },
];

describe('Ollama /api/chat', () => {
  it('streams NDJSON by default: a write_file call with a relative path, then the done chunk with counts', async () => {
    const res = await postJson(`${server.url}/api/chat`, workerTurn());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const chunks = ndjson(res.text);
    expect(chunks[0]).toMatchObject({ model: 'qwen3:8b', done: false, message: { role: 'assistant', tool_calls: [{ function: { name: 'write_file', arguments: { path: 'hello.txt', content: 'hello from mock\n' } } }] } });
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 1111, eval_count: 22 });
    expect(chunks.filter((c) => c.done)).toHaveLength(1);
  });

  it('streams the final text after a tool message', async () => {
    const chunks = ndjson((await postJson(`${server.url}/api/chat`, workerTurn(TOOL_EXCHANGE, true))).text);
    expect(chunks.map((c) => c.message.content).join('')).toBe('Done. I created hello.txt.');
    expect(chunks.at(-1)).toMatchObject({ done: true, prompt_eval_count: 3333, eval_count: 44 });
  });

  it('answers with one object when stream is false', async () => {
    const body = JSON.parse((await postJson(`${server.url}/api/chat`, workerTurn([], false))).text);
    expect(body).toMatchObject({ done: true, prompt_eval_count: 1111, eval_count: 22, message: { tool_calls: [{ function: { name: 'write_file' } }] } });
  });

  it('loops on list_files, the worker\'s harmless tool', async () => {
    const body = JSON.parse((await postJson(`${server.url}/api/chat`, { ...workerTurn(TOOL_EXCHANGE, false), messages: [{ role: 'user', content: '[[mock:loop]]' }, ...TOOL_EXCHANGE] })).text);
    expect(body.message.tool_calls[0].function).toEqual({ name: 'list_files', arguments: {} });
  });

  it('answers the probes: /api/tags and /api/version', async () => {
    const tags = await (await fetch(`${server.url}/api/tags`)).json();
    expect(tags.models[0].name).toBe('mock-model:latest');
    const version = await (await fetch(`${server.url}/api/version`)).json();
    expect(version.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
