import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, postJson } from './mock-client.js';
import { startMockModelServer, type MockModelServer } from './server.js';

let server: MockModelServer;
beforeAll(async () => {
  server = await startMockModelServer();
});
afterAll(() => server.close());

const EXEC = { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' }, workdir: { type: 'string' } } } };
const APPLY_PATCH = { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: patch' } };

/** Shaped like Codex 0.171's request: developer messages, then <environment_context> and the prompt. */
function codexTurn(tools: unknown[], extra: unknown[] = [], stream = true): Record<string, unknown> {
  return {
    model: 'mock-model',
    instructions: null,
    stream,
    store: false,
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are a coding agent running in the Codex CLI.' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/work/codex</cwd>\n  <shell>bash</shell>\n</environment_context>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'create hello.txt' }] },
      ...extra,
    ],
    tools: [...tools, { type: 'web_search' }],
  };
}

function events(text: string): Array<{ event: string | null; data: any }> {
  return parseSse(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

const USAGE = (input: number, output: number) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: 7 },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: input + output,
});

describe('OpenAI Responses', () => {
  it('streams an exec_command heredoc that writes the file under <cwd>', async () => {
    const res = await postJson(`${server.url}/v1/responses`, codexTurn([EXEC]));
    expect(res.status).toBe(200);
    const stream = events(res.text);
    expect(stream.map((e) => e.event)).toEqual([
      'response.created', 'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
      'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(stream.every((e) => e.data.type === e.event)).toBe(true);
    const done = stream.find((e) => e.event === 'response.output_item.done')!.data.item;
    expect(done).toMatchObject({ type: 'function_call', name: 'exec_command', status: 'completed' });
    expect(done.call_id).toMatch(/^call_/);
    expect(JSON.parse(done.arguments)).toEqual({ cmd: "cat > '/work/codex/hello.txt' <<'MOCK_EOF'\nhello from mock\nMOCK_EOF" });
    const deltas = stream.filter((e) => e.event === 'response.function_call_arguments.delta').map((e) => e.data.delta).join('');
    expect(deltas).toBe(done.arguments);
    const completed = stream.at(-1)!.data.response;
    expect(completed.status).toBe('completed');
    expect(completed.usage).toEqual(USAGE(1111, 22));
  });

  it('uses the freeform apply_patch tool when Codex offers it', async () => {
    const stream = events((await postJson(`${server.url}/v1/responses`, codexTurn([EXEC, APPLY_PATCH]))).text);
    expect(stream.map((e) => e.event)).toContain('response.custom_tool_call_input.done');
    const done = stream.find((e) => e.event === 'response.output_item.done')!.data.item;
    expect(done).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: hello.txt\n+hello from mock\n*** End Patch\n' });
    const deltas = stream.filter((e) => e.event === 'response.custom_tool_call_input.delta').map((e) => e.data.delta).join('');
    expect(deltas).toBe(done.input);
  });

  it('streams a final message after a function_call_output or custom_tool_call_output', async () => {
    for (const output of [
      [{ type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{}' }, { type: 'function_call_output', call_id: 'call_1', output: 'Process exited with code 0' }],
      [{ type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: '' }, { type: 'custom_tool_call_output', call_id: 'call_2', output: 'Success.' }],
    ]) {
      const stream = events((await postJson(`${server.url}/v1/responses`, codexTurn([EXEC, APPLY_PATCH], output))).text);
      const text = stream.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join('');
      expect(text).toBe('Done. I created hello.txt.');
      const item = stream.find((e) => e.event === 'response.output_item.done')!.data.item;
      expect(item).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done. I created hello.txt.' }] });
      expect(stream.at(-1)!.data.response.usage).toEqual(USAGE(3333, 44));
    }
  });

  it('answers without streaming with the whole response object', async () => {
    const body = JSON.parse((await postJson(`${server.url}/v1/responses`, codexTurn([EXEC], [], false))).text);
    expect(body).toMatchObject({ object: 'response', status: 'completed', output: [{ type: 'function_call', name: 'exec_command' }], usage: USAGE(1111, 22) });
  });

  it('refuses the WebSocket upgrade with 426 so Codex falls back to HTTPS', async () => {
    // fetch cannot send an Upgrade header; node:http can, as Codex does.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/v1/responses`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('the mock accepted a WebSocket upgrade')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
  });
});
