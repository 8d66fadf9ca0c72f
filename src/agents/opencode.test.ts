import { describe, expect, it } from 'vitest';
import { agentInputWith, exitedWith, parsing, TEST_ENDPOINTS, transcriptLines } from '../../test/support/agent-fixtures.js';
import type { AgentEvent } from '../domain/index.js';
import { classifyFailure } from '../process/failure.js';
import { NO_PROVIDERS, type ProviderEndpoints } from './adapter.js';
import { OPENCODE_DEFAULT_MODELS, OPENCODE_QUIET_ENV, openCodeAdapter } from './opencode.js';

const input = agentInputWith({ prompt: '-x fix "it"  twice; $(rm -rf /)', binary: '/opt/kage/agents/bin/opencode' });
const { parse, parseRecords } = parsing(openCodeAdapter);

/** The Anthropic base URL ends in a slash, to show that adding `/v1` does not double it. */
const endpoints: ProviderEndpoints = { ...TEST_ENDPOINTS, anthropic: { baseUrl: 'http://127.0.0.1:4011/', apiKey: 'sk-ant' } };

function configOf(command: { homeFiles: { path: string; content: string }[] }): unknown {
  expect(command.homeFiles.map((f) => f.path)).toEqual(['.config/opencode/opencode.json']);
  return JSON.parse(command.homeFiles[0]?.content ?? '');
}

const sumUsage = (events: AgentEvent[]) =>
  events.flatMap((e) => (e.kind === 'usage' ? [e.usage] : [])).reduce(
    (a, u) => ({
      inputTokens: a.inputTokens + u.inputTokens,
      outputTokens: a.outputTokens + u.outputTokens,
      cacheReadTokens: a.cacheReadTokens + u.cacheReadTokens,
      cacheWriteTokens: a.cacheWriteTokens + u.cacheWriteTokens,
    }),
    { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
  );

describe('openCodeAdapter.buildCommand', () => {
  it('runs `run --format json` with the quiet env, a fixed title and the prompt on stdin', () => {
    expect(openCodeAdapter.buildCommand(input())).toEqual({
      argv: ['/opt/kage/agents/bin/opencode', 'run', '--format', 'json', '--title', 'kage', '--auto'],
      env: {
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
        OPENCODE_DISABLE_SHARE: '1',
        OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
        OPENCODE_DISABLE_CLAUDE_CODE: '1',
      },
      stdin: { kind: 'text', text: '-x fix "it"  twice; $(rm -rf /)' },
      homeFiles: [],
    });
    expect(openCodeAdapter.buildCommand(input({ binary: null })).argv[0]).toBe('opencode');
  });

  it('defines provider `kage` for the OpenAI endpoint, with the model as its one tool-calling entry', () => {
    const command = openCodeAdapter.buildCommand(input({ providers: endpoints, model: 'mock-model' }));
    expect(command.argv.slice(6)).toEqual(['--model=kage/mock-model', '--auto']);
    expect(configOf(command)).toEqual({
      model: 'kage/mock-model',
      provider: {
        kage: {
          npm: '@ai-sdk/openai-compatible',
          name: 'kage',
          options: { baseURL: 'http://127.0.0.1:4012/v1', apiKey: 'sk-oa' },
          models: { 'mock-model': { name: 'mock-model', tool_call: true, limit: { context: 200000, output: 8192 } } },
        },
      },
    });
    // The key is in the 0600 settings file, not in the environment or argv.
    expect(JSON.stringify([command.env, command.argv])).not.toMatch(/sk-/);
  });

  it('speaks Anthropic to providers.anthropic, with `/v1` added, when options.provider is anthropic', () => {
    const command = openCodeAdapter.buildCommand(input({ providers: endpoints, options: { provider: 'anthropic', maxTokens: 4096, contextTokens: '64000' } }));
    const model = OPENCODE_DEFAULT_MODELS.anthropic;
    expect(command.argv).toContain(`--model=kage/${model}`);
    expect(configOf(command)).toEqual({
      model: `kage/${model}`,
      provider: {
        kage: {
          npm: '@ai-sdk/anthropic',
          name: 'kage',
          options: { baseURL: 'http://127.0.0.1:4011/v1', apiKey: 'sk-ant' },
          models: { [model]: { name: model, tool_call: true, limit: { context: 64000, output: 4096 } } },
        },
      },
    });
  });

  it('asks a configured endpoint for the default model when the clone names none, and keeps slashes in model names', () => {
    expect(openCodeAdapter.buildCommand(input({ providers: endpoints })).argv).toContain(`--model=kage/${OPENCODE_DEFAULT_MODELS.openai}`);
    const command = openCodeAdapter.buildCommand(input({ providers: endpoints, model: 'qwen/qwen3-coder' }));
    expect(command.argv).toContain('--model=kage/qwen/qwen3-coder');
    expect(configOf(command)).toMatchObject({ provider: { kage: { models: { 'qwen/qwen3-coder': { name: 'qwen/qwen3-coder' } } } } });
  });

  it('gives a key without a base URL to OpenCode\'s built-in provider of that name', () => {
    const providers = { ...NO_PROVIDERS, openai: { baseUrl: null, apiKey: 'sk-oa' } };
    const command = openCodeAdapter.buildCommand(input({ providers, model: 'gpt-5.5' }));
    expect(command.argv).toContain('--model=openai/gpt-5.5');
    expect(configOf(command)).toEqual({ provider: { openai: { options: { apiKey: 'sk-oa' } } } });
  });

  it('leaves OpenCode its own providers when nothing is configured', () => {
    expect(openCodeAdapter.buildCommand(input()).argv).not.toContainEqual(expect.stringMatching(/^--model/));
    const bare = openCodeAdapter.buildCommand(input({ model: 'claude-x', options: { provider: 'anthropic' } }));
    expect(bare.argv).toContain('--model=anthropic/claude-x');
    expect(bare.homeFiles).toEqual([]);
    expect(openCodeAdapter.buildCommand(input({ model: 'openrouter/some-model' })).argv).toContain('--model=openrouter/some-model');
  });

  it('resumes a session, appends extra args last, and kills the npm lookup only when asked to run offline', () => {
    const command = openCodeAdapter.buildCommand(input({
      resumeSessionId: 'ses_de2fdb781ffeRPcMwTg777zpX2',
      options: { args: ['--agent', 'build'], offline: true },
    }));
    expect(command.argv.slice(6)).toEqual(['--session=ses_de2fdb781ffeRPcMwTg777zpX2', '--auto', '--agent', 'build']);
    expect(openCodeAdapter.buildCommand(input({ options: { autoApprove: false } })).argv).not.toContain('--auto');
    expect(() => openCodeAdapter.buildCommand(input({ options: { autoApprove: 'yes' } }))).toThrow(/options\.autoApprove/);
    expect(command.env).toEqual({ ...OPENCODE_QUIET_ENV, NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/' });
    expect(openCodeAdapter.buildCommand(input({ options: { offline: false } })).env).not.toHaveProperty('NPM_CONFIG_REGISTRY');
  });

  it.each([
    [{ provider: 'gemini' }, 'options.provider'],
    [{ offline: 'yes' }, 'options.offline'],
    [{ maxTokens: 0 }, 'options.maxTokens'],
    [{ contextTokens: 'big' }, 'options.contextTokens'],
    [{ args: '--agent build' }, 'options.args'],
    [{ args: ['--format', 'default'] }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => openCodeAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });

  it('is the pinned CLI and resumes sessions', () => {
    expect(openCodeAdapter).toMatchObject({ id: 'opencode', aliases: [], supportsResume: true, provider: 'openai' });
    expect(openCodeAdapter.cli).toMatchObject({ command: 'opencode', npmPackage: 'opencode-ai', version: '1.18.33' });
  });
});

describe('OpenCode parser on real transcripts', () => {
  it('turns a successful run into session, tool use and result, message, per-step usage and a made-up result', () => {
    const events = parse(transcriptLines('opencode.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: 'ses_de2fdb781ffeRPcMwTg777zpX2' },
      { kind: 'tool_use', id: 'call_cd5c31717a318f97', name: 'write', input: { filePath: '/home/user/project/hello.txt', content: 'hello from mock\n' } },
      { kind: 'tool_result', id: 'call_cd5c31717a318f97', output: 'Wrote file successfully.', isError: false },
      { kind: 'usage', usage: { inputTokens: 1104, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 0 }, costUsd: 0, cumulative: false },
      { kind: 'message', text: 'Done. I created hello.txt.' },
      { kind: 'usage', usage: { inputTokens: 3326, outputTokens: 44, cacheReadTokens: 7, cacheWriteTokens: 0 }, costUsd: 0, cumulative: false },
      { kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: 2, durationMs: null },
    ]);
    // The mock's 1111 + 3333 prompt tokens, less the 7 + 7 cached that openai-compatible reports apart.
    expect(sumUsage(events)).toEqual({ inputTokens: 4444 - 14, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 0 });
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true }).kind).toBe('none');
  });

  it('sums the Anthropic provider\'s usage, cache writes included', () => {
    const events = parse(transcriptLines('opencode-anthropic.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'tool_use', 'tool_result', 'usage', 'message', 'usage', 'result']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: 'ses_de2faef94ffecG5ZtEaD9Daw0s' });
    expect(sumUsage(events)).toEqual({ inputTokens: 4444, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 16 });
    expect(events.at(-1)).toEqual({ kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: 2, durationMs: null });
  });

  it('reports a 400 as an api error with its status and a failed result', () => {
    const events = parse(transcriptLines('opencode-e400.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: 'ses_de2f8ddd6ffe5EJ23xiYJJEWaf' },
      { kind: 'error', message: 'API error 400: mock 400 error', status: 400, errorKind: 'api' },
      { kind: 'result', ok: false, text: 'API error 400: mock 400 error', numTurns: 0, durationMs: null },
    ]);
    expect(classifyFailure(exitedWith(1), events, { requireResultEvent: true })).toEqual({
      kind: 'api_error',
      transient: false,
      message: 'API error 400: mock 400 error',
    });
  });
});

describe('OpenCode parser', () => {
  it('reports a failed tool call and counts reasoning tokens as output', () => {
    const events = parseRecords([
      { type: 'tool_use', sessionID: 's', part: { type: 'tool', tool: 'bash', callID: 'c1', state: { status: 'error', input: { command: 'false' }, error: 'exit 1' } } },
      { type: 'step_finish', sessionID: 's', part: { reason: 'stop', tokens: { input: 10, output: 5, reasoning: 3, cache: { read: 1, write: 2 } }, cost: 0.25 } },
    ]);
    expect(events.slice(1)).toEqual([
      { kind: 'tool_use', id: 'c1', name: 'bash', input: { command: 'false' } },
      { kind: 'tool_result', id: 'c1', output: 'exit 1', isError: true },
      { kind: 'usage', usage: { inputTokens: 10, outputTokens: 8, cacheReadTokens: 1, cacheWriteTokens: 2 }, costUsd: 0.25, cumulative: false },
      { kind: 'result', ok: true, text: '', numTurns: 1, durationMs: null },
    ]);
  });

  it('fails a run whose last step did not stop, even when it exited 0', () => {
    const events = parseRecords([{ type: 'step_finish', sessionID: 's', part: { reason: 'length', tokens: { input: 1, output: 8192 } } }]);
    expect(events.at(-1)).toEqual({
      kind: 'result', ok: false, text: 'OpenCode ended without a final answer (its last step ended with "length")', numTurns: 1, durationMs: null,
    });
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true })).toMatchObject({ kind: 'exit_error', transient: false });
  });

  it('fails a run that printed nothing with stderr as the reason, and calls it a crash when a signal killed it', () => {
    const events = parse([]);
    expect(events).toEqual([{ kind: 'result', ok: false, text: '', numTurns: 0, durationMs: null }]);
    expect(classifyFailure(exitedWith(1, { stderrTail: 'Error: Session not found\n' }), events, { requireResultEvent: true })).toEqual({
      kind: 'exit_error', transient: false, message: 'Exited with code 1: Error: Session not found',
    });
    expect(classifyFailure(exitedWith(null, { signal: 'SIGKILL' }), events, { requireResultEvent: true })).toMatchObject({ kind: 'crash', transient: true });
  });

  it('fails a run with an error even when a step stopped before it', () => {
    const events = parseRecords([
      { type: 'step_finish', sessionID: 's', part: { reason: 'stop', tokens: {} } },
      { type: 'error', sessionID: 's', error: { name: 'UnknownError', data: { message: 'database is locked' } } },
    ]);
    expect(events.at(-1)).toMatchObject({ kind: 'result', ok: false, text: 'database is locked' });
    expect(events.filter((e) => e.kind === 'error')).toEqual([{ kind: 'error', message: 'database is locked', status: null, errorKind: 'unknown' }]);
  });

  it.each([
    [{ name: 'APIError', data: { message: 'Cannot connect to API: Unable to connect. Is the computer able to access the url?', isRetryable: true } }, 'unreachable', null],
    [{ name: 'APIError', data: { message: 'The socket connection was closed unexpectedly.', isRetryable: true } }, 'network', null],
    [{ name: 'APIError', data: { message: 'Too many requests', statusCode: 429, isRetryable: true } }, 'rate_limit', 429],
    [{ name: 'APIError', data: { message: 'Overloaded', statusCode: 529, isRetryable: true } }, 'overloaded', 529],
    [{ name: 'ProviderAuthError', data: { providerID: 'kage', message: 'No API key' } }, 'auth', null],
    [{ name: 'MessageAbortedError', data: { message: 'Aborted' } }, 'unknown', null],
  ])('reads error %j as kind %s', (error, errorKind, status) => {
    const events = parseRecords([{ type: 'error', sessionID: 's', error }]);
    expect(events[1]).toMatchObject({ kind: 'error', errorKind, status });
  });

  it('reports the session once and ignores stderr and lines that are not JSON objects', () => {
    const parser = openCodeAdapter.createParser();
    expect(parser.line('{"type":"step_start","sessionID":"s1","part":{}}', 'stdout')).toEqual([{ kind: 'session', sessionId: 's1' }]);
    expect(parser.line('{"type":"step_start","sessionID":"s1","part":{}}', 'stdout')).toEqual([]);
    expect(parser.line('{"type":"error","error":{"name":"APIError","data":{"statusCode":500}}}', 'stderr')).toEqual([]);
    expect(parser.line('INFO  service=run', 'stdout')).toEqual([]);
    expect(parser.line('{broken', 'stdout')).toEqual([]);
  });
});
