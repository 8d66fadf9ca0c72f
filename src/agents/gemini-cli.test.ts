import { describe, expect, it } from 'vitest';
import { agentInputWith, exitedWith, parsing, TEST_ENDPOINTS, transcriptLines } from '../../test/support/agent-fixtures.js';
import { classifyFailure } from '../process/failure.js';
import { NO_PROVIDERS } from './adapter.js';
import { apiErrorStatus, geminiCliAdapter } from './gemini-cli.js';

const input = agentInputWith({ binary: '/opt/kage/agents/bin/gemini' });
const { parse, parseRecords } = parsing(geminiCliAdapter);

describe('geminiCliAdapter.buildCommand', () => {
  it('runs headless with stream-json and yolo, the prompt as one --prompt= element, stdin closed', () => {
    const command = geminiCliAdapter.buildCommand(input());
    expect(command.argv).toEqual([
      '/opt/kage/agents/bin/gemini', '--output-format', 'stream-json', '--yolo', '--skip-trust', '--prompt=-x fix it; $(rm -rf /)',
    ]);
    expect(command.stdin).toEqual({ kind: 'ignore' });
    expect(command.env).toEqual({});
  });

  it('falls back to the bare command name when no binary was found', () => {
    expect(geminiCliAdapter.buildCommand(input({ binary: null })).argv[0]).toBe('gemini');
  });

  it('passes the model, the session to resume and extra args, extra args just before the prompt', () => {
    const { argv } = geminiCliAdapter.buildCommand(input({
      model: 'gemini-2.5-flash',
      resumeSessionId: 'eb223b2d-3c64-47ac-b1c7-1ce866f2e74a',
      options: { args: ['--include-directories', '/data'] },
    }));
    expect(argv.slice(5)).toEqual([
      '--model=gemini-2.5-flash', '--resume=eb223b2d-3c64-47ac-b1c7-1ce866f2e74a', '--include-directories', '/data', '--prompt=-x fix it; $(rm -rf /)',
    ]);
  });

  it('hands over only the Gemini endpoint and key, under the CLI\'s own variable names', () => {
    expect(geminiCliAdapter.buildCommand(input({ providers: TEST_ENDPOINTS })).env).toEqual({
      GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:4010',
      GEMINI_API_KEY: 'gm-key',
    });
    const keyOnly = { ...NO_PROVIDERS, gemini: { baseUrl: null, apiKey: 'gm-key' } };
    expect(geminiCliAdapter.buildCommand(input({ providers: keyOnly })).env).toEqual({ GEMINI_API_KEY: 'gm-key' });
  });

  it('writes settings that pin API-key auth, silence telemetry and updates, and allow one attempt per request', () => {
    const { homeFiles } = geminiCliAdapter.buildCommand(input());
    expect(homeFiles.map((f) => f.path)).toEqual(['.gemini/settings.json']);
    expect(JSON.parse(homeFiles[0]?.content ?? '')).toEqual({
      security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: 1 },
    });
  });

  it('caps the session turns in the settings when options.maxTurns is given', () => {
    const { homeFiles } = geminiCliAdapter.buildCommand(input({ options: { maxTurns: '12' } }));
    expect(JSON.parse(homeFiles[0]?.content ?? '').model).toEqual({ maxSessionTurns: 12 });
  });

  it.each([
    [{ maxTurns: 0 }, 'options.maxTurns'],
    [{ maxTurns: 'many' }, 'options.maxTurns'],
    [{ args: '--debug' }, 'options.args'],
    [{ args: ['-o', 'json'] }, 'options.args'],
    [{ args: ['--output-format=text'] }, 'options.args'],
    [{ args: ['--prompt', 'other'] }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => geminiCliAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });

  it('is the pinned CLI, with v1\'s name as an alias, and resumes sessions', () => {
    expect(geminiCliAdapter).toMatchObject({ id: 'gemini-cli', aliases: ['gemini'], supportsResume: true, provider: 'gemini' });
    expect(geminiCliAdapter.cli).toMatchObject({ command: 'gemini', npmPackage: '@google/gemini-cli', version: '0.61.0' });
  });
});

describe('Gemini stream parser on real transcripts', () => {
  it('turns a successful run into session, tool use, tool result, message, usage and result', () => {
    const events = parse(transcriptLines('gemini.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: 'eb223b2d-3c64-47ac-b1c7-1ce866f2e74a', model: 'auto' },
      {
        kind: 'tool_use',
        id: 'write_file__write_file_1795782961370_0',
        name: 'write_file',
        input: { file_path: '/home/user/project/hello.txt', content: 'hello from mock\n' },
      },
      { kind: 'tool_result', id: 'write_file__write_file_1795782961370_0', output: '', isError: false },
      { kind: 'message', text: 'Done. I created hello.txt.' },
      {
        kind: 'usage',
        // The mock's numbers: main model 1111 + 3333 prompt (7 + 7 cached) and 22 + 44 out; the router's
        // classifier call 5 prompt (7 cached, so 0 fresh) and 6 out. The router call is counted.
        usage: { inputTokens: 1111 + 3333 - 14, outputTokens: 22 + 44 + 6, cacheReadTokens: 14 + 7, cacheWriteTokens: 0 },
        costUsd: null,
        cumulative: true,
      },
      { kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: null, durationMs: 390 },
    ]);
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true }).kind).toBe('none');
  });

  it('reports a 400 as an api error with the status read from the message, and a failed result', () => {
    const events = parse(transcriptLines('gemini-e400.jsonl'));
    const message =
      '[API Error: {"type":"error","error":{"type":"invalid_request_error","message":"mock 400 error","code":400,"status":"INVALID_ARGUMENT"}}]';
    expect(events).toEqual([
      { kind: 'session', sessionId: '7c9821c8-915d-4543-97db-c05081b1018a', model: 'auto' },
      { kind: 'usage', usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, costUsd: null, cumulative: true },
      { kind: 'error', message, status: 400, errorKind: 'api' },
      { kind: 'result', ok: false, text: message, numTurns: null, durationMs: 0 },
    ]);
    // Gemini exits with the HTTP status mod 256: 400 → 144.
    expect(classifyFailure(exitedWith(144), events, { requireResultEvent: true })).toEqual({ kind: 'api_error', transient: false, message });
  });

  it('does not read the single-object `-o json` output, which kage never asks for', () => {
    const events = parse(transcriptLines('gemini-model.jsonl'));
    expect(events).toEqual([]);
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true }).kind).toBe('crash');
  });
});

describe('Gemini stream parser', () => {
  it('joins assistant deltas into one message per stretch of text', () => {
    const events = parseRecords([
      { type: 'init', session_id: 's1', model: 'gemini-2.5-flash' },
      { type: 'message', role: 'user', content: 'do it' },
      { type: 'message', role: 'assistant', content: 'Let me ', delta: true },
      { type: 'message', role: 'assistant', content: 'look.', delta: true },
      { type: 'tool_use', tool_name: 'read_file', tool_id: 't1', parameters: { file_path: 'a.txt' } },
      { type: 'tool_result', tool_id: 't1', status: 'error', error: { type: 'FILE_NOT_FOUND', message: 'File not found: a.txt' } },
      { type: 'message', role: 'assistant', content: 'No such file.', delta: true },
    ]);
    expect(events).toEqual([
      { kind: 'session', sessionId: 's1', model: 'gemini-2.5-flash' },
      { kind: 'message', text: 'Let me look.' },
      { kind: 'tool_use', id: 't1', name: 'read_file', input: { file_path: 'a.txt' } },
      { kind: 'tool_result', id: 't1', output: 'File not found: a.txt', isError: true },
      { kind: 'message', text: 'No such file.' },
    ]);
  });

  it('reports a rate limit named by its RPC status, and a refused connection as a network error', () => {
    const limited = parseRecords([{ type: 'result', status: 'error', error: { type: 'unknown', message: '[API Error: Quota exceeded (Status: RESOURCE_EXHAUSTED)]' } }]);
    expect(limited[0]).toMatchObject({ kind: 'error', status: 429, errorKind: 'rate_limit' });
    expect(classifyFailure(exitedWith(1), limited, { requireResultEvent: true }).kind).toBe('rate_limit');

    const refused = parseRecords([{ type: 'result', status: 'error', error: { type: 'unknown', message: '[API Error: exception TypeError: fetch failed sending request]' } }]);
    expect(refused[0]).toMatchObject({ kind: 'error', status: null, errorKind: 'network' });
    expect(classifyFailure(exitedWith(1), refused, { requireResultEvent: true })).toMatchObject({ kind: 'network', transient: true });
  });

  it('reports the turn limit as the agent\'s budget running out', () => {
    const events = parseRecords([{ type: 'result', status: 'error', error: { type: 'FatalTurnLimitedError', message: 'Reached max session turns for this session.' } }]);
    expect(events[0]).toMatchObject({ kind: 'error', errorKind: 'budget' });
    expect(classifyFailure(exitedWith(53), events, { requireResultEvent: true }).kind).toBe('budget');
  });

  it('keeps stream errors undecisive and takes the last one as the failure when the result carries no message', () => {
    const events = parseRecords([
      { type: 'error', severity: 'error', message: 'Model stream ended with an invalid chunk' },
      { type: 'result', status: 'error', stats: { input_tokens: 10, output_tokens: 2, cached: 0, input: 10 } },
    ]);
    expect(events.map((e) => e.kind)).toEqual(['error', 'usage', 'result']);
    expect(events[0]).toEqual({ kind: 'error', message: 'Model stream ended with an invalid chunk', status: null, errorKind: 'unknown' });
    expect(events[2]).toMatchObject({ ok: false, text: 'Model stream ended with an invalid chunk' });
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true })).toEqual({
      kind: 'exit_error', transient: false, message: 'Model stream ended with an invalid chunk',
    });
  });

  it('turns the auth check on stderr, which exits 41 before any event, into an auth error', () => {
    const events = parse(['YOLO mode is enabled. All tool calls will be automatically approved.',
      'When using Gemini API, you must specify the GEMINI_API_KEY environment variable.'], 'stderr');
    expect(events).toEqual([
      { kind: 'error', message: 'When using Gemini API, you must specify the GEMINI_API_KEY environment variable.', status: null, errorKind: 'auth' },
    ]);
    expect(classifyFailure(exitedWith(41), events, { requireResultEvent: true })).toMatchObject({ kind: 'auth', transient: false });
  });

  it('ignores lines that are not JSON objects', () => {
    expect(parse(['', 'Loaded cached credentials.', '[1,2]', '{not json'])).toEqual([]);
  });
});

describe('apiErrorStatus', () => {
  it.each([
    ['[API Error: {"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]', 503],
    ['[API Error: {"error":{"message":"denied","status":"PERMISSION_DENIED"}}]', 403],
    ['[API Error: Request failed (Status: UNAUTHENTICATED)]', 401],
    ['[API Error: You exceeded your quota]\nPlease wait and try again later. To increase your limits, request a quota increase', 429],
    ['[API Error: 502 Bad Gateway]', 502],
    ['[API Error: something odd]', null],
  ])('reads %s as %s', (message, status) => {
    expect(apiErrorStatus(message)).toBe(status);
  });
});
