import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, postJson, sseJson } from './mock-client.js';
import { startMockModelServer, type MockModelServer } from './server.js';
import { MOCK_USAGE } from './usage.js';

let server: MockModelServer;
beforeAll(async () => {
  server = await startMockModelServer();
});
afterAll(() => server.close());

const fn = (name: string, ...params: string[]) => ({
  type: 'function',
  function: { name, description: name, parameters: { type: 'object', properties: Object.fromEntries(params.map((p) => [p, { type: 'string' }])) } },
});

/** Shaped like OpenCode 1.18's turn: the cwd is in the system prompt's <env> block. */
function openCodeTurn(extra: unknown[] = [], streamOptions: unknown = { include_usage: true }): Record<string, unknown> {
  return {
    model: 'mock-model',
    stream: true,
    stream_options: streamOptions,
    messages: [
      { role: 'system', content: 'You are opencode.\n<env>\n  Working directory: /work/oc\n  Is directory a git repo: yes\n</env>' },
      { role: 'user', content: 'create hello.txt' },
      ...extra,
    ],
    tools: [fn('bash', 'command'), fn('glob', 'pattern'), fn('write', 'filePath', 'content')],
  };
}

/** Shaped like Qwen Code 0.15's turn: the cwd is in a user message before the prompt. */
function qwenTurn(extra: unknown[] = []): Record<string, unknown> {
  return {
    model: 'mock-model',
    stream: false,
    messages: [
      { role: 'system', content: 'You are Qwen Code.' },
      { role: 'user', content: [{ type: 'text', text: "I'm currently working in the directory: /work/qwen\nHere is the folder structure" }] },
      { role: 'assistant', content: 'Got it. Thanks for the context!' },
      { role: 'user', content: [{ type: 'text', text: 'create hello.txt' }] },
      ...extra,
    ],
    tools: [fn('read_file', 'absolute_path'), fn('write_file', 'file_path', 'content')],
  };
}

const TOOL_EXCHANGE = [
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: 'Wrote file successfully.' },
];

describe('OpenAI Chat Completions', () => {
  it('streams a tool call in deltas, then a usage-only chunk and [DONE]', async () => {
    const res = await postJson(`${server.url}/v1/chat/completions`, openCodeTurn(), { authorization: 'Bearer sk-secret' });
    expect(res.status).toBe(200);
    const events = parseSse(res.text);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = sseJson(res.text);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'mock-model')).toBe(true);
    const calls = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta.tool_calls ?? []));
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'write', arguments: '' } });
    expect(calls[0].id).toMatch(/^call_/);
    const args = calls.map((c: any) => c.function.arguments).join('');
    expect(JSON.parse(args)).toEqual({ filePath: '/work/oc/hello.txt', content: 'hello from mock\n' });
    const finish = chunks.flatMap((c) => c.choices).find((ch: any) => ch.finish_reason !== null);
    expect(finish.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 1111, completion_tokens: 22, total_tokens: 1133, prompt_tokens_details: { cached_tokens: 7 } },
    });
  });

  it('streams the final text after a tool message', async () => {
    const chunks = sseJson((await postJson(`${server.url}/v1/chat/completions`, openCodeTurn(TOOL_EXCHANGE))).text);
    const text = chunks.flatMap((c) => c.choices).map((ch: any) => ch.delta.content ?? '').join('');
    expect(text).toBe('Done. I created hello.txt.');
    expect(chunks.flatMap((c) => c.choices).find((ch: any) => ch.finish_reason !== null).finish_reason).toBe('stop');
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 3333, completion_tokens: 44 });
  });

  it('sends no usage chunk unless the client asks for it', async () => {
    const chunks = sseJson((await postJson(`${server.url}/v1/chat/completions`, openCodeTurn([], null))).text);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('answers without streaming, with Qwen Code\'s absolute write_file path', async () => {
    const tool = JSON.parse((await postJson(`${server.url}/v1/chat/completions`, qwenTurn())).text);
    expect(tool).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null } }] });
    const call = tool.choices[0].message.tool_calls[0];
    expect(call.function.name).toBe('write_file');
    expect(JSON.parse(call.function.arguments)).toEqual({ file_path: '/work/qwen/hello.txt', content: 'hello from mock\n' });
    expect(tool.usage).toEqual({ prompt_tokens: 1111, completion_tokens: 22, total_tokens: 1133, prompt_tokens_details: { cached_tokens: 7 } });

    const exchange = [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'Successfully created' }] },
    ];
    const final = JSON.parse((await postJson(`${server.url}/v1/chat/completions`, qwenTurn(exchange))).text);
    expect(final.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Done. I created hello.txt.' } });
    expect(final.usage).toMatchObject({ prompt_tokens: MOCK_USAGE.finalTurn.inputTokens, completion_tokens: MOCK_USAGE.finalTurn.outputTokens });
  });

  it('answers OpenCode\'s title generation with a short title and side-call usage', async () => {
    const chunks = sseJson((await postJson(`${server.url}/v1/chat/completions`, {
      model: 'mock-model', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'You are a title generator. You output ONLY a thread title.' }, { role: 'user', content: 'create hello.txt' }],
    })).text);
    const title = chunks.flatMap((c) => c.choices).map((ch: any) => ch.delta.content ?? '').join('');
    expect(title.length).toBeGreaterThan(0);
    expect(title.length).toBeLessThan(50);
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, prompt_tokens_details: { cached_tokens: 0 } });
  });
});
