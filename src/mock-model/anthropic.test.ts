import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, postJson } from './mock-client.js';
import { startMockModelServer, type MockModelServer } from './server.js';
import { MOCK_USAGE } from './usage.js';

let server: MockModelServer;
beforeAll(async () => {
  server = await startMockModelServer();
});
afterAll(() => server.close());

const TOOLS = [
  { name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
  { name: 'Write', description: 'Write a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } } } },
];

/** Shaped like Claude Code 2.1.332's first request: the environment block is a mid-conversation system message. */
function firstTurn(prompt: string, stream = true): Record<string, unknown> {
  return {
    model: 'claude-opus-5-5',
    max_tokens: 128000,
    stream,
    system: [{ type: 'text', text: 'You are Claude Code.' }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>context</system-reminder>' }, { type: 'text', text: prompt }] },
      { role: 'system', content: [{ type: 'text', text: '# Environment\n - Primary working directory: /work/project\n - Platform: linux' }] },
    ],
    tools: TOOLS,
  };
}

function secondTurn(prompt: string, stream = true): Record<string, unknown> {
  const first = firstTurn(prompt, stream);
  return {
    ...first,
    messages: [
      ...(first.messages as unknown[]),
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'File created successfully' }] },
    ],
  };
}

describe('Anthropic Messages', () => {
  it('streams a Write call to the absolute path in the event order Claude Code expects', async () => {
    const res = await postJson(`${server.url}/v1/messages?beta=true`, firstTurn('create hello.txt'), { 'x-api-key': 'sk-secret' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(res.text);
    expect(events.map((e) => e.event)).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const data = events.map((e) => JSON.parse(e.data));
    expect(data.map((d) => d.type)).toEqual(events.map((e) => e.event));
    expect(data[0].message.usage).toEqual({ input_tokens: 1111, cache_creation_input_tokens: 8, cache_read_input_tokens: 7, output_tokens: 1 });
    expect(data[1].content_block).toMatchObject({ type: 'tool_use', name: 'Write', input: {} });
    const json = data.filter((d) => d.type === 'content_block_delta').map((d) => d.delta.partial_json).join('');
    expect(JSON.parse(json)).toEqual({ file_path: '/work/project/hello.txt', content: 'hello from mock\n' });
    expect(data[5]).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: MOCK_USAGE.toolTurn.outputTokens } });
  });

  it('streams the final text after the tool result', async () => {
    const res = await postJson(`${server.url}/v1/messages`, secondTurn('create hello.txt'));
    const data = parseSse(res.text).map((e) => JSON.parse(e.data));
    expect(data[1].content_block).toEqual({ type: 'text', text: '' });
    expect(data.filter((d) => d.type === 'content_block_delta').map((d) => d.delta.text).join('')).toBe('Done. I created hello.txt.');
    expect(data[0].message.usage.input_tokens).toBe(3333);
    expect(data.find((d) => d.type === 'message_delta')).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 44 } });
  });

  it('answers without streaming with one message carrying the full usage', async () => {
    const tool = JSON.parse((await postJson(`${server.url}/v1/messages`, firstTurn('go', false))).text);
    expect(tool).toMatchObject({
      type: 'message', role: 'assistant', model: 'claude-opus-5-5', stop_reason: 'tool_use',
      content: [{ type: 'tool_use', name: 'Write', input: { file_path: '/work/project/hello.txt', content: 'hello from mock\n' } }],
      usage: { input_tokens: 1111, output_tokens: 22, cache_read_input_tokens: 7, cache_creation_input_tokens: 8 },
    });
    expect(tool.content[0].id).toMatch(/^toolu_/);
    const final = JSON.parse((await postJson(`${server.url}/v1/messages`, secondTurn('go', false))).text);
    expect(final).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Done. I created hello.txt.' }], usage: { input_tokens: 3333, output_tokens: 44 } });
  });

  it('writes the file and content a marker asks for', async () => {
    const res = await postJson(`${server.url}/v1/messages`, firstTurn('[[mock:write file=src/a.txt content=line%201%0Aline%202%0A]] do it', false));
    expect(JSON.parse(res.text).content[0].input).toEqual({ file_path: '/work/project/src/a.txt', content: 'line 1\nline 2\n' });
    const final = JSON.parse((await postJson(`${server.url}/v1/messages`, secondTurn('[[mock:write file=src/a.txt]]', false))).text);
    expect(final.content[0].text).toBe('Done. I created src/a.txt.');
  });

  it('accepts a top-level system string and answers OpenCode\'s title call as a side call', async () => {
    const res = await postJson(`${server.url}/v1/messages`, {
      model: 'mock-model', max_tokens: 100, system: 'You are a title generator. You output ONLY a thread title.',
      messages: [{ role: 'user', content: 'create hello.txt' }],
    });
    const body = JSON.parse(res.text);
    expect(body.content).toEqual([{ type: 'text', text: expect.any(String) }]);
    expect(body.usage).toMatchObject({ input_tokens: MOCK_USAGE.sideCall.inputTokens, output_tokens: MOCK_USAGE.sideCall.outputTokens, cache_read_input_tokens: 0 });
  });

  it('answers count_tokens', async () => {
    const res = await postJson(`${server.url}/v1/messages/count_tokens`, { model: 'm', messages: [] });
    expect(JSON.parse(res.text)).toEqual({ input_tokens: 1111 });
  });
});
