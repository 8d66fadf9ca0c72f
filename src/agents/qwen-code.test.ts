import { describe, expect, it } from 'vitest';
import { agentInputWith, exitedWith, parsing, TEST_ENDPOINTS, transcriptLines } from '../../test/support/agent-fixtures.js';
import { classifyFailure } from '../process/failure.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { CLI_PINS } from './cli-pins.js';
import { qwenCodeAdapter } from './qwen-code.js';

const input = agentInputWith({ binary: '/opt/kage/agents/bin/qwen' });
const { parse, parseRecords } = parsing(qwenCodeAdapter);
const required = { requireResultEvent: true };

describe('qwenCodeAdapter.buildCommand', () => {
  it('runs headless with OpenAI auth, yolo and stream-json, the prompt as one --prompt= element, stdin closed', () => {
    const command = qwenCodeAdapter.buildCommand(input());
    expect(command.argv).toEqual([
      '/opt/kage/agents/bin/qwen', '--auth-type', 'openai', '--yolo', '--output-format', 'stream-json', '--prompt=-x fix it; $(rm -rf /)',
    ]);
    expect(command.stdin).toEqual({ kind: 'ignore' });
    expect(command.env).toEqual({ QWEN_CODE_SUPPRESS_YOLO_WARNING: '1' });
  });

  it('keeps a prompt that names a subcommand the prompt', () => {
    expect(qwenCodeAdapter.buildCommand(input({ prompt: 'mcp' })).argv.at(-1)).toBe('--prompt=mcp');
  });

  it('falls back to the bare command name when no binary was found', () => {
    expect(qwenCodeAdapter.buildCommand(input({ binary: null })).argv[0]).toBe('qwen');
  });

  it('writes settings with usage statistics, telemetry, auto-update, auto-memory and SDK retries off', () => {
    const { homeFiles } = qwenCodeAdapter.buildCommand(input());
    expect(homeFiles.map((f) => f.path)).toEqual(['.qwen/settings.json']);
    expect(JSON.parse(homeFiles[0]?.content ?? '')).toEqual({
      $version: 4,
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false },
      memory: { enableManagedAutoMemory: false },
      model: { generationConfig: { maxRetries: 0 } },
    });
  });

  it('hands over the OpenAI endpoint, key and model under Qwen\'s variable names, and no other provider\'s', () => {
    const command = qwenCodeAdapter.buildCommand(input({ providers: TEST_ENDPOINTS, model: 'qwen3-coder' }));
    expect(command.env).toEqual({
      QWEN_CODE_SUPPRESS_YOLO_WARNING: '1',
      OPENAI_BASE_URL: 'http://127.0.0.1:4012/v1',
      OPENAI_API_KEY: 'sk-oa',
      OPENAI_MODEL: 'qwen3-coder',
    });
    expect(command.argv).toContain('--model=qwen3-coder');
  });

  it('passes the turn limit, the session to resume and extra args, extra args just before the prompt', () => {
    const { argv } = qwenCodeAdapter.buildCommand(input({
      resumeSessionId: '7c9e5d6b-d3e6-4d6f-b5cf-af57b51cef2a',
      options: { maxTurns: '12', args: ['--chat-recording', 'true'] },
    }));
    expect(argv.slice(6)).toEqual([
      '--max-session-turns=12', '--resume=7c9e5d6b-d3e6-4d6f-b5cf-af57b51cef2a', '--chat-recording', 'true', '--prompt=-x fix it; $(rm -rf /)',
    ]);
  });

  it.each([
    [{ maxTurns: 0 }, 'options.maxTurns'],
    [{ maxTurns: 'many' }, 'options.maxTurns'],
    [{ args: '--debug' }, 'options.args'],
    [{ args: ['-o', 'json'] }, 'options.args'],
    [{ args: ['--auth-type=qwen-oauth'] }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => qwenCodeAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });
});

describe('qwenCodeAdapter', () => {
  it('is the pinned Qwen Code CLI, known as qwen too, resumable, on the OpenAI provider', () => {
    expect(qwenCodeAdapter).toMatchObject({ id: 'qwen-code', aliases: ['qwen'], supportsResume: true, provider: 'openai' });
    expect(qwenCodeAdapter.cli).toBe(CLI_PINS['qwen-code']);
    expect(qwenCodeAdapter.description).toMatch(/Qwen Code/);
  });
});

describe('qwenCodeAdapter parser on real transcripts', () => {
  it('reads a successful 0.24 run: session, tool call, message, the result\'s totals and an ok result', () => {
    const events = parse(transcriptLines('qwen.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: '7c9e5d6b-d3e6-4d6f-b5cf-af57b51cef2a', model: 'mock-model' },
      {
        kind: 'tool_use',
        id: 'call_07fe90751acb7895',
        name: 'write_file',
        input: { file_path: '/home/user/project/hello.txt', content: 'hello from mock\n' },
      },
      {
        kind: 'tool_result',
        id: 'call_07fe90751acb7895',
        output: 'Successfully created and wrote to new file: /home/user/project/hello.txt.',
        isError: false,
      },
      { kind: 'message', text: 'Done. I created hello.txt.' },
      // The endpoint's 4444 prompt tokens include the 14 read from the cache.
      { kind: 'usage', usage: { inputTokens: 4430, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 0 }, costUsd: null, cumulative: true },
      { kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: 2, durationMs: 2998 },
    ]);
    expect(classifyFailure(exitedWith(0), events, required).kind).toBe('none');
  });

  it('reads a successful run of the pinned 0.15, which makes one request per turn', () => {
    const events = parse(transcriptLines('qwen-0.15.10.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'message', 'usage', 'result']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: 'f079f4ea-354c-4a4e-81da-3814ff4ba27d', model: 'mock-model' });
    expect(events[2]).toMatchObject({ usage: { inputTokens: 1104, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 0 } });
    expect(events[3]).toMatchObject({ kind: 'result', ok: true, text: 'Done. Nothing to do.' });
  });

  it('reads a 0.24 error_during_execution as an api error with the status from its message', () => {
    const events = parse(transcriptLines('qwen-e400.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'message', 'usage', 'error', 'result']);
    expect(events[3]).toEqual({ kind: 'error', message: '[API Error: 400 mock 400 error]', status: 400, errorKind: 'api' });
    expect(events[4]).toEqual({ kind: 'result', ok: false, text: '[API Error: 400 mock 400 error]', numTurns: 1, durationMs: 2298 });
    expect(classifyFailure(exitedWith(1), events, required)).toEqual({ kind: 'api_error', transient: false, message: '[API Error: 400 mock 400 error]' });
  });

  it('fails a 0.15 run that reported an API error as a success and exited 0', () => {
    const events = parse(transcriptLines('qwen-0.15.10-e400.jsonl'));
    expect(events.filter((e) => e.kind === 'error')).toEqual([
      { kind: 'error', message: '[API Error: 400 probe 400 error]', status: 400, errorKind: 'api' },
    ]);
    expect(events.at(-1)).toMatchObject({ kind: 'result', ok: false, text: '[API Error: 400 probe 400 error]' });
    expect(classifyFailure(exitedWith(0), events, required)).toEqual({ kind: 'api_error', transient: false, message: '[API Error: 400 probe 400 error]' });
  });

  it('reads a 0.15 429 as a transient rate limit', () => {
    const events = parse(transcriptLines('qwen-0.15.10-e429.jsonl'));
    expect(events.find((e) => e.kind === 'error')).toMatchObject({ status: 429, errorKind: 'rate_limit' });
    expect(classifyFailure(exitedWith(0), events, required)).toMatchObject({ kind: 'rate_limit', transient: true });
  });

  it('reads a 0.15 connection error as a transient network failure', () => {
    const events = parse(transcriptLines('qwen-0.15.10-unreachable.jsonl'));
    expect(events.find((e) => e.kind === 'error')).toEqual({
      kind: 'error', message: '[API Error: Connection error. (cause: fetch failed)]', status: null, errorKind: 'network',
    });
    expect(classifyFailure(exitedWith(0), events, required)).toMatchObject({ kind: 'network', transient: true });
  });

  it('reads a run stopped by its turn limit, which ends on stderr without a result, as a budget failure', () => {
    const parser = qwenCodeAdapter.createParser();
    const events = [
      ...transcriptLines('qwen-0.15.10-max-turns.jsonl').flatMap((line) => parser.line(line, 'stdout')),
      ...parser.line('Reached max session turns for this session. Increase the number of turns by specifying maxSessionTurns in settings.json.', 'stderr'),
      ...parser.end(),
    ];
    expect(events.map((e) => e.kind)).toEqual(['session', 'tool_use', 'tool_result', 'tool_use', 'tool_result', 'error']);
    expect(events.at(-1)).toMatchObject({ kind: 'error', status: null, errorKind: 'budget' });
    expect(classifyFailure(exitedWith(53), events, required)).toMatchObject({ kind: 'budget', transient: false });
  });

  it('ignores other stderr lines', () => {
    expect(qwenCodeAdapter.createParser().line('Ripgrep is not available. Falling back to GrepTool.', 'stderr')).toEqual([]);
  });
});

describe('qwenCodeAdapter parser details', () => {
  it('takes other statuses from the message and leaves errors without an API error to the result text', () => {
    const failed = (message: string) => ({ type: 'result', subtype: 'error_during_execution', is_error: true, num_turns: 1, error: { message } });
    expect(parseRecords([failed('[API Error: 401 invalid key]')]).find((e) => e.kind === 'error')).toMatchObject({ status: 401, errorKind: 'auth' });
    expect(parseRecords([failed('[API Error: 503 busy]')]).find((e) => e.kind === 'error')).toMatchObject({ status: 503, errorKind: 'overloaded' });
    const other = parseRecords([failed('Tool registry failed to start')]);
    expect(other.find((e) => e.kind === 'error')).toEqual({ kind: 'error', message: 'Tool registry failed to start', status: null, errorKind: 'unknown' });
    expect(classifyFailure(exitedWith(1), other, required)).toEqual({ kind: 'exit_error', transient: false, message: 'Tool registry failed to start' });
  });

  it('reads "[API Error: …" in a success result as a failure only in Qwen\'s dialect', () => {
    const line = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: '[API Error: 500 boom]' });
    expect(qwenCodeAdapter.createParser().line(line, 'stdout').at(-1)).toMatchObject({ kind: 'result', ok: false });
    expect(createClaudeStreamParser().line(line, 'stdout').at(-1)).toMatchObject({ kind: 'result', ok: true });
  });
});
