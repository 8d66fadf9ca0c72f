// Integration: the compiled API worker as a real child process, started from the `anthropic-api` and
// `openai-api` adapters' commands, against scripted loopback servers streaming canned SSE; its stdout goes
// through the adapters' real parser.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentInput, runParsed, tempDir } from '../../test/support/agent-fixtures.js';
import { anthropicEvents, serveScripted, sseEvent, writeJson, writeSse } from '../../test/support/scripted-http.js';
import type { AgentEvent } from '../domain/index.js';
import { NO_PROVIDERS, type AgentAdapter, type ProviderEndpoints } from './adapter.js';
import { anthropicApiAdapter } from './anthropic-api.js';
import { openaiApiAdapter } from './openai-api.js';

interface Run {
  code: number | null;
  events: AgentEvent[];
  worktree: string;
  /** What sits beside the worktree: only the worktree itself, unless a write escaped. */
  beside: string[];
}

/** Runs the adapter's command in a fresh worktree the way the supervisor does: stdin closed, its env added. */
async function run(adapter: AgentAdapter, providers: ProviderEndpoints): Promise<Run> {
  const parent = tempDir();
  const worktree = path.join(parent, 'wt');
  mkdirSync(worktree);
  const command = adapter.buildCommand(agentInput({ prompt: 'Create hello.txt', model: 'test-model', worktree, home: parent, providers }));
  const { code, events } = await runParsed(command.argv, { cwd: worktree, env: command.env, parser: adapter });
  return { code, events, worktree, beside: readdirSync(parent) };
}

const usages = (events: AgentEvent[]) => events.flatMap((e) => (e.kind === 'usage' ? [e.usage] : []));
const toolResults = (events: AgentEvent[]) => events.flatMap((e) => (e.kind === 'tool_result' ? [[e.isError, e.output]] : []));

/** Turn 1: write hello.txt (input streamed in pieces) and try ../escape.txt; turn 2: the summary. */
function anthropicTurn(n: number): string[] {
  const start = (usage: Record<string, number>) => ({ type: 'message_start', message: { id: `msg_${n}`, role: 'assistant', content: [], usage } });
  if (n === 0) {
    return anthropicEvents([
      start({ input_tokens: 900, cache_creation_input_tokens: 2000, cache_read_input_tokens: 0, output_tokens: 1 }),
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_a', name: 'write_file', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"path": "hel' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: 'lo.txt", "content": "hi\\n"}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_b', name: 'write_file', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"path": "../escape.txt", "content": "x"}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 60 } },
      { type: 'message_stop' },
    ]);
  }
  return anthropicEvents([
    start({ input_tokens: 150, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 1 }),
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Created ' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello.txt.' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } },
    { type: 'message_stop' },
  ]);
}

function openaiTurn(n: number): string[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => sseEvent({ choices: [{ index: 0, delta, finish_reason: finish }] });
  const usage = (prompt: number, completion: number, cached: number) =>
    sseEvent({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, prompt_tokens_details: { cached_tokens: cached } } });
  if (n === 0) {
    return [
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'write_file', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"path":"hel' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'lo.txt","content":"hi\\n"}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'write_file', arguments: '{"path":"../escape.txt","content":"x"}' } }] }),
      chunk({}, 'tool_calls'),
      usage(1000, 60, 0),
      sseEvent('[DONE]'),
    ];
  }
  return [chunk({ content: 'Created ' }), chunk({ content: 'hello.txt.' }), chunk({}, 'stop'), usage(1200, 9, 1024), sseEvent('[DONE]')];
}

describe('the compiled API worker', () => {
  it('runs the anthropic-api agent to the end: streamed tool input, refused escape, cache usage, final message', async () => {
    const server = await serveScripted((_req, res, n) => writeSse(res, anthropicTurn(n)));
    const result = await run(anthropicApiAdapter, { ...NO_PROVIDERS, anthropic: { baseUrl: server.url, apiKey: 'sk-ant-e2e' } });
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(result.worktree, 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(result.beside).toEqual(['wt']);
    expect(toolResults(result.events)).toEqual([
      [false, 'Wrote 3 bytes to hello.txt'],
      [true, 'Refusing "../escape.txt": it is outside the working directory'],
    ]);
    expect(usages(result.events)).toEqual([
      { inputTokens: 900, outputTokens: 60, cacheReadTokens: 0, cacheWriteTokens: 2000 },
      { inputTokens: 150, outputTokens: 9, cacheReadTokens: 2000, cacheWriteTokens: 100 },
    ]);
    expect(result.events.at(-1)).toMatchObject({ kind: 'result', ok: true, text: 'Created hello.txt.', numTurns: 2 });

    expect(server.requests.map((r) => [r.path, r.headers['x-api-key'], r.body.model])).toEqual([
      ['/v1/messages', 'sk-ant-e2e', 'test-model'],
      ['/v1/messages', 'sk-ant-e2e', 'test-model'],
    ]);
    expect(server.requests[1]!.body.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: 'Wrote 3 bytes to hello.txt', is_error: false },
        {
          type: 'tool_result', tool_use_id: 'toolu_b', content: 'Refusing "../escape.txt": it is outside the working directory',
          is_error: true, cache_control: { type: 'ephemeral' },
        },
      ],
    });
  });

  it('runs the openai-api agent to the end against a keyless compatible server', async () => {
    const server = await serveScripted((_req, res, n) => writeSse(res, openaiTurn(n)));
    const result = await run(openaiApiAdapter, { ...NO_PROVIDERS, openai: { baseUrl: `${server.url}/v1`, apiKey: null } });
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(result.worktree, 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(result.beside).toEqual(['wt']);
    expect(toolResults(result.events)).toEqual([
      [false, 'Wrote 3 bytes to hello.txt'],
      [true, 'Refusing "../escape.txt": it is outside the working directory'],
    ]);
    expect(usages(result.events)).toEqual([
      { inputTokens: 1000, outputTokens: 60, cacheReadTokens: 0, cacheWriteTokens: 0 },
      { inputTokens: 176, outputTokens: 9, cacheReadTokens: 1024, cacheWriteTokens: 0 },
    ]);
    expect(result.events.at(-1)).toMatchObject({ kind: 'result', ok: true, text: 'Created hello.txt.', numTurns: 2 });
    expect(server.requests.map((r) => [r.path, r.headers.authorization])).toEqual([['/v1/chat/completions', undefined], ['/v1/chat/completions', undefined]]);
    expect(server.requests[1]!.body.messages.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'call_a', content: 'Wrote 3 bytes to hello.txt' },
      { role: 'tool', tool_call_id: 'call_b', content: 'Error: Refusing "../escape.txt": it is outside the working directory' },
    ]);
  });

  it('fails with the API\'s message and the auth kind when the key is refused', async () => {
    const server = await serveScripted((_req, res) => writeJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
    const result = await run(anthropicApiAdapter, { ...NO_PROVIDERS, anthropic: { baseUrl: server.url, apiKey: 'wrong' } });
    expect(result.code).toBe(1);
    expect(result.events.slice(1)).toEqual([
      { kind: 'error', message: 'Anthropic returned HTTP 401: invalid x-api-key', status: 401, errorKind: 'auth' },
      expect.objectContaining({ kind: 'result', ok: false, text: 'Anthropic returned HTTP 401: invalid x-api-key', numTurns: 1 }),
    ]);
  });

  it('fails at once as unreachable when nothing listens at the OpenAI base URL', async () => {
    const server = await serveScripted((_req, res) => writeSse(res, []));
    await server.close();
    const result = await run(openaiApiAdapter, { ...NO_PROVIDERS, openai: { baseUrl: `${server.url}/v1`, apiKey: 'k' } });
    expect(result.code).toBe(1);
    expect(result.events[1]).toMatchObject({ kind: 'error', status: null, errorKind: 'unreachable', message: expect.stringMatching(/^cannot reach OpenAI at .*ECONNREFUSED/) });
  });
});
