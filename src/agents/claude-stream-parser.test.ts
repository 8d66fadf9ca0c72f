import { describe, expect, it } from 'vitest';
import { eventsOfKind, parsing, transcriptLines } from '../../test/support/agent-fixtures.js';
import type { AgentEvent } from '../domain/index.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { MAX_TOOL_OUTPUT_CHARS } from './event-text.js';

const { parse, parseRecords } = parsing({ createParser: createClaudeStreamParser });
const fixtureLines = (name: string) => transcriptLines(name, 'transcripts');

describe('createClaudeStreamParser on real transcripts', () => {
  it('turns a successful run into session, tool use, tool result, message, usage and result', () => {
    const events = parse(fixtureLines('claude.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'tool_use', 'tool_result', 'message', 'usage', 'result']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: 'aa5c3a71-6ba8-4526-ac59-7d141f4982df', model: 'claude-opus-5-5' });
    expect(events[1]).toEqual({
      kind: 'tool_use',
      id: 'toolu_ef1c7a50c9483292',
      name: 'Write',
      input: { file_path: '/home/user/project/hello.txt', content: 'hello from mock\n' },
    });
    expect(events[2]).toMatchObject({ kind: 'tool_result', id: 'toolu_ef1c7a50c9483292', isError: false });
    expect(eventsOfKind(events, 'tool_result')[0]?.output).toMatch(/^File created successfully at: \/home\/user\/project\/hello.txt/);
    expect(events[3]).toEqual({ kind: 'message', text: 'Done. I created hello.txt.' });
    expect(events[5]).toEqual({ kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: 2, durationMs: 811 });
  });

  it('takes usage totals from the result line, not by summing per-message usage', () => {
    const usage = eventsOfKind(parse(fixtureLines('claude.jsonl')), 'usage');
    expect(usage).toHaveLength(1);
    expect(usage[0]?.usage).toEqual({ inputTokens: 4444, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 16 });
    expect(usage[0]?.cumulative).toBe(true);
    expect(usage[0]?.costUsd).toBeCloseTo(0.0191788, 10);
  });

  it('reports a 400 run as an api error and a failed result', () => {
    const events = parse(fixtureLines('claude-e400.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'message', 'usage', 'error', 'result']);
    expect(eventsOfKind(events, 'error')[0]).toEqual({ kind: 'error', message: 'API Error: 400 mock 400 error', status: 400, errorKind: 'api' });
    expect(eventsOfKind(events, 'result')[0]).toMatchObject({ ok: false, text: 'API Error: 400 mock 400 error', numTurns: 1 });
    expect(eventsOfKind(events, 'usage')[0]).toMatchObject({ usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0 });
  });

  it('reports each retry of a 500 run as an api error, with no result when the run was killed', () => {
    const events = parse(fixtureLines('claude-e500.jsonl'));
    const errors = eventsOfKind(events, 'error');
    expect(errors).toHaveLength(9);
    expect(errors.every((e) => e.status === 500 && e.errorKind === 'api')).toBe(true);
    expect(errors[0]?.message).toBe('API request failed with status 500 (server_error); retry 1 of 10 in 580 ms');
    expect(eventsOfKind(events, 'result')).toHaveLength(0);
    expect(eventsOfKind(events, 'session')).toHaveLength(1);
  });
});

describe('createClaudeStreamParser error kinds', () => {
  it.each([
    [429, 'rate_limit'],
    [529, 'overloaded'],
    [503, 'overloaded'],
    [500, 'api'],
    [null, 'network'],
  ])('classifies an api_retry with status %s as %s', (status, errorKind) => {
    const events = parseRecords([{ type: 'system', subtype: 'api_retry', attempt: 1, max_retries: 3, retry_delay_ms: 10, error_status: status }]);
    expect(events).toEqual([expect.objectContaining({ kind: 'error', status, errorKind })]);
  });

  it.each([
    [401, 'auth'],
    [403, 'auth'],
    [429, 'rate_limit'],
    [529, 'overloaded'],
    [503, 'overloaded'],
    [400, 'api'],
    [500, 'api'],
  ])('classifies a failed result with api_error_status %s as %s', (status, errorKind) => {
    const events = parseRecords([{ type: 'result', subtype: 'success', is_error: true, api_error_status: status, result: `API Error: ${status}` }]);
    expect(eventsOfKind(events, 'error')).toEqual([{ kind: 'error', message: `API Error: ${status}`, status, errorKind }]);
    expect(eventsOfKind(events, 'result')[0]?.ok).toBe(false);
  });

  it('treats error subtypes as failures even without is_error, and budget subtypes as budget errors', () => {
    const turns = parseRecords([{ type: 'result', subtype: 'error_max_turns', is_error: false, num_turns: 5 }]);
    expect(eventsOfKind(turns, 'error')[0]).toMatchObject({ status: null, errorKind: 'unknown', message: 'Agent reported an error (error_max_turns)' });
    expect(eventsOfKind(turns, 'result')[0]).toMatchObject({ ok: false, numTurns: 5 });
    const budget = parseRecords([{ type: 'result', subtype: 'error_max_budget_usd', is_error: true }]);
    expect(eventsOfKind(budget, 'error')[0]?.errorKind).toBe('budget');
  });
});

describe('createClaudeStreamParser details', () => {
  it('reads tool results given as a list of blocks, with their error flag', () => {
    const events = parseRecords([
      {
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: [{ type: 'text', text: 'boom' }, { type: 'image' }] }] },
      },
    ]);
    expect(events).toEqual([{ kind: 'tool_result', id: 't1', output: 'boom\n[image]', isError: true }]);
  });

  it('clips very long tool output', () => {
    const events = parseRecords([{ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't', content: 'y'.repeat(100_000) }] } }]);
    expect(eventsOfKind(events, 'tool_result')[0]?.output.length).toBe(MAX_TOOL_OUTPUT_CHARS);
  });

  it('emits the session once, from the first line that carries it when init is missing', () => {
    const events = parseRecords([
      { type: 'assistant', session_id: 's-1', message: { content: [{ type: 'text', text: 'hi' }] } },
      { type: 'assistant', session_id: 's-1', message: { content: [{ type: 'text', text: 'again' }] } },
    ]);
    expect(events.map((e) => e.kind)).toEqual(['session', 'message', 'message']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: 's-1' });
  });

  it('ignores stderr, non-JSON lines, thinking blocks, empty text and unknown record types', () => {
    expect(parse(fixtureLines('claude.jsonl'), 'stderr')).toEqual([]);
    const events = parse([
      'Warning: no stdin data received in 3s, proceeding without it',
      '',
      '{"type":"stream_event","event":{"type":"content_block_delta"}}',
      '{"type":"system","subtype":"hook_started"}',
      '{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"  "}]}}',
    ]);
    expect(events).toEqual([]);
  });
});

/** Deterministic pseudo-random numbers (mulberry32), so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isWellFormed(event: AgentEvent): boolean {
  switch (event.kind) {
    case 'session':
      return typeof event.sessionId === 'string' && (event.model === undefined || typeof event.model === 'string');
    case 'message':
      return typeof event.text === 'string';
    case 'tool_use':
      return typeof event.id === 'string' && typeof event.name === 'string';
    case 'tool_result':
      return typeof event.id === 'string' && typeof event.output === 'string' && typeof event.isError === 'boolean';
    case 'usage':
      return Object.values(event.usage).every((n) => Number.isFinite(n) && n >= 0) && (event.costUsd === null || Number.isFinite(event.costUsd));
    case 'error':
      return typeof event.message === 'string' && (event.status === null || Number.isInteger(event.status));
    case 'result':
      return typeof event.ok === 'boolean' && typeof event.text === 'string';
  }
}

describe('createClaudeStreamParser robustness', () => {
  const realLines = [...fixtureLines('claude.jsonl'), ...fixtureLines('claude-e400.jsonl'), ...fixtureLines('claude-e500.jsonl')].filter(
    (l) => l !== '',
  );

  it('never throws on truncated real lines and only emits well-formed events', () => {
    const parser = createClaudeStreamParser();
    for (const line of realLines) {
      for (let cut = 0; cut < line.length; cut += 7) {
        const events = parser.line(line.slice(0, cut), 'stdout');
        expect(events.every(isWellFormed)).toBe(true);
      }
    }
    expect(parser.end()).toEqual([]);
  });

  it('never throws on random garbage, random byte flips and wrong field types', () => {
    const random = prng(42);
    const parser = createClaudeStreamParser();
    const alphabet = '{}[]":,0123456789.-eE truefalsnul\\u"type"assistantresultusermessagecontent\n\t\u0000\u{1F600}';
    const wrongTypes: unknown[] = [null, 1, -1, 1e308, 'text', true, [], {}, [null, 1, 'x'], { type: 1 }, NaN];
    const shapes = (v: unknown): unknown[] => [
      { type: 'system', subtype: 'init', session_id: v, model: v },
      { type: 'system', subtype: 'api_retry', error_status: v, attempt: v, max_retries: v, retry_delay_ms: v, error: v },
      { type: 'assistant', message: v },
      { type: 'assistant', message: { content: v } },
      { type: 'assistant', message: { content: [v, { type: 'text', text: v }, { type: 'tool_use', id: v, name: v, input: v }] } },
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: v, content: v, is_error: v }] } },
      { type: 'result', is_error: v, subtype: v, api_error_status: v, result: v, usage: v, total_cost_usd: v, num_turns: v, duration_ms: v },
      { type: 'result', usage: { input_tokens: v, output_tokens: v, cache_read_input_tokens: v, cache_creation_input_tokens: v } },
      { type: v, session_id: 'x' },
    ];
    const inputs: unknown[] = [
      ...wrongTypes.flatMap(shapes).map((r) => JSON.stringify(r)),
      ...wrongTypes, // not even strings
      '{"type":"result","usage":' + '['.repeat(100_000),
      '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
      `{"type":"assistant","message":{"content":[{"type":"text","text":"${'z'.repeat(8_000_000)}"}]}}`,
      'x'.repeat(5_000_000),
    ];
    for (let i = 0; i < 2_000; i += 1) {
      const length = Math.floor(random() * 200);
      let s = '';
      for (let j = 0; j < length; j += 1) s += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      inputs.push(random() < 0.5 ? `{${s}` : s);
      const real = realLines[Math.floor(random() * realLines.length)] ?? '';
      const at = Math.floor(random() * real.length);
      inputs.push(real.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + real.slice(at + 1));
    }
    for (const input of inputs) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const events = parser.line(input as string, stream);
        expect(Array.isArray(events)).toBe(true);
        expect(events.every(isWellFormed)).toBe(true);
      }
    }
    expect(() => parser.end()).not.toThrow();
  });
});
