import { describe, expect, it } from 'vitest';
import { parsing, transcriptLines } from '../../test/support/agent-fixtures.js';
import { createApiWorkerParser } from './api-worker-parser.js';
import { MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

const { parse, parseRecords } = parsing({ createParser: createApiWorkerParser });
const fixtureLines = (name: string) => transcriptLines(name, 'transcripts');

describe('createApiWorkerParser on recorded runs', () => {
  it('turns a successful run into session, per-request usage, message, tool use, tool result and result', () => {
    const events = parse(fixtureLines('api-worker-ollama.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'usage', 'message', 'tool_use', 'tool_result', 'usage', 'message', 'result']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: '481844be-d3c2-4554-ab8d-c1070e21def1', model: 'qwen2.5-coder:7b' });
    expect(events[1]).toEqual({
      kind: 'usage',
      usage: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: null,
      cumulative: false,
    });
    expect(events[3]).toEqual({ kind: 'tool_use', id: 'call_1', name: 'write_file', input: { path: 'hello.txt', content: 'hello from the model\n' } });
    expect(events[4]).toEqual({ kind: 'tool_result', id: 'call_1', output: 'Wrote 21 bytes to hello.txt', isError: false });
    expect(events[7]).toEqual({ kind: 'result', ok: true, text: 'Created hello.txt.', numTurns: 2, durationMs: 60 });
  });

  it('reports an unreachable server as an unreachable error and a failed result', () => {
    const events = parse(fixtureLines('api-worker-ollama-unreachable.jsonl'));
    const message = 'cannot reach Ollama at http://127.0.0.1:11434: connect ECONNREFUSED 127.0.0.1:11434';
    expect(events.slice(1)).toEqual([
      { kind: 'error', message, status: null, errorKind: 'unreachable' },
      { kind: 'result', ok: false, text: message, numTurns: 0, durationMs: 4 },
    ]);
  });

  it('keeps the HTTP status and Ollama\'s message of a missing model', () => {
    const [, error] = parse(fixtureLines('api-worker-ollama-e404.jsonl'));
    expect(error).toEqual({
      kind: 'error',
      message: 'Ollama returned HTTP 404: model "qwen2.5-coder:7b" not found, try pulling it first',
      status: 404,
      errorKind: 'api',
    });
  });
});

describe('createApiWorkerParser', () => {
  it('marks refused tool calls as error results and clips long outputs', () => {
    const [refused, long] = parseRecords([
      { type: 'tool_result', id: 'call_2', output: 'Refusing "../x": it is outside the working directory', is_error: true },
      { type: 'tool_result', id: 'call_3', output: 'y'.repeat(MAX_TOOL_OUTPUT_CHARS * 2), is_error: false },
    ]);
    expect(refused).toEqual({ kind: 'tool_result', id: 'call_2', output: 'Refusing "../x": it is outside the working directory', isError: true });
    expect(long?.kind === 'tool_result' && long.output.length).toBe(MAX_TOOL_OUTPUT_CHARS);
  });

  it('takes the error kind from the record and falls back to the status for unknown kinds', () => {
    const events = parseRecords([
      { type: 'error', kind: 'budget', status: null, message: 'Stopped after 20 turns' },
      { type: 'error', kind: 'mystery', status: 429, message: 'slow down' },
      { type: 'error', kind: 'mystery', status: null, message: 'odd' },
      { type: 'error', kind: 'api', status: 99, message: '' },
    ]);
    expect(events).toEqual([
      { kind: 'error', message: 'Stopped after 20 turns', status: null, errorKind: 'budget' },
      { kind: 'error', message: 'slow down', status: 429, errorKind: 'rate_limit' },
      { kind: 'error', message: 'odd', status: null, errorKind: 'unknown' },
      { kind: 'error', message: 'API worker reported an error', status: null, errorKind: 'api' },
    ]);
  });

  it('carries the cache reads and writes of a usage line', () => {
    expect(parseRecords([{ type: 'usage', input_tokens: 21, output_tokens: 87, cache_read_tokens: 3000, cache_write_tokens: 1500 }])).toEqual([
      { kind: 'usage', usage: { inputTokens: 21, outputTokens: 87, cacheReadTokens: 3000, cacheWriteTokens: 1500 }, costUsd: null, cumulative: false },
    ]);
  });

  it('counts missing or bad token numbers as zero', () => {
    expect(parseRecords([{ type: 'usage', input_tokens: -5, output_tokens: 'many' }])).toEqual([
      { kind: 'usage', usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, costUsd: null, cumulative: false },
    ]);
  });

  it('ignores stderr, non-JSON lines, blank messages and unknown record types', () => {
    expect(parse(['{"type":"message","text":"hi"}'], 'stderr')).toEqual([]);
    expect(parse(['api-worker: --model is required', '', '[1,2]', '{not json'])).toEqual([]);
    expect(parseRecords([{ type: 'message', text: '  \n' }, { type: 'thinking', text: 'hmm' }, { type: 'session' }])).toEqual([]);
  });
});
