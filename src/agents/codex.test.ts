import { describe, expect, it } from 'vitest';
import { agentInputWith, exitedWith, parsing, TEST_ENDPOINTS, transcriptLines } from '../../test/support/agent-fixtures.js';
import type { AgentEvent } from '../domain/index.js';
import { classifyFailure } from '../process/failure.js';
import { CLI_PINS } from './cli-pins.js';
import { codexAdapter, codexConfig } from './codex.js';

const input = agentInputWith({ binary: '/opt/kage/agents/bin/codex' });
const { parse, parseRecords } = parsing(codexAdapter);
const required = { requireResultEvent: true };

const METADATA_WARNING: AgentEvent = {
  kind: 'error',
  message: 'Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.',
  status: null,
  errorKind: 'unknown',
};

describe('codexAdapter.buildCommand', () => {
  it('runs `codex exec --json` in the workspace-write sandbox, the prompt after `--` as one element, stdin closed', () => {
    const command = codexAdapter.buildCommand(input());
    expect(command.argv).toEqual([
      '/opt/kage/agents/bin/codex', 'exec', '--json', '--skip-git-repo-check', '-s', 'workspace-write', '--', '-x fix it; $(rm -rf /)',
    ]);
    expect(command.stdin).toEqual({ kind: 'ignore' });
    expect(command.env).toEqual({ CODEX_HOME: '/tmp/home/.codex' });
  });

  it('falls back to the bare command name when no binary was found', () => {
    expect(codexAdapter.buildCommand(input({ binary: null })).argv[0]).toBe('codex');
  });

  it('points a custom Responses provider at the OpenAI endpoint, the key only in the environment', () => {
    const command = codexAdapter.buildCommand(input({ providers: TEST_ENDPOINTS }));
    expect(command.env).toEqual({ CODEX_HOME: '/tmp/home/.codex', KAGE_CODEX_API_KEY: 'sk-oa' });
    expect(command.homeFiles).toEqual([{ path: '.codex/config.toml', content: codexConfig('http://127.0.0.1:4012/v1', true) }]);
    expect(command.homeFiles[0]?.content).toBe([
      'model_provider = "kage"',
      'check_for_update_on_startup = false',
      '',
      '[model_providers.kage]',
      'name = "kage"',
      'base_url = "http://127.0.0.1:4012/v1"',
      'env_key = "KAGE_CODEX_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
      '[features]',
      'plugins = false',
      'apps = false',
      '',
      '[analytics]',
      'enabled = false',
      '',
    ].join('\n'));
    expect(command.homeFiles[0]?.content).not.toContain('sk-oa');
  });

  it('uses OpenAI\'s own URL when none is configured, and names no key variable when there is no key', () => {
    const command = codexAdapter.buildCommand(input());
    const config = command.homeFiles[0]?.content ?? '';
    expect(config).toContain('base_url = "https://api.openai.com/v1"');
    expect(config).not.toContain('env_key');
  });

  it('signs in with the user\'s own `codex login` when a passthrough clone got its auth.json and no key', () => {
    const providers = { ...TEST_ENDPOINTS, openai: { baseUrl: 'http://127.0.0.1:4000/t/kgw_x/openai/v1', apiKey: null } };
    const command = codexAdapter.buildCommand(input({ providers, logins: ['.codex/auth.json'] }));
    expect(command.env).toEqual({ CODEX_HOME: '/tmp/home/.codex' });
    const config = command.homeFiles[0]?.content ?? '';
    expect(config).toContain('requires_openai_auth = true');
    expect(config).not.toContain('env_key');
    // An own key wins over the login, as Codex's own OPENAI_API_KEY would.
    const keyed = codexAdapter.buildCommand(input({ providers: { ...providers, openai: { ...providers.openai, apiKey: 'sk-own' } }, logins: ['.codex/auth.json'] }));
    expect(keyed.homeFiles[0]?.content).not.toContain('requires_openai_auth');
    expect(keyed.env.KAGE_CODEX_API_KEY).toBe('sk-own');
  });

  it('escapes the base URL as a TOML string', () => {
    expect(codexConfig('http://h/"x"\\y\u0001', false)).toContain('base_url = "http://h/\\"x\\"\\\\y\\u0001"');
  });

  it('passes the model, the sandbox and extra args, then resumes the session before the prompt', () => {
    const { argv } = codexAdapter.buildCommand(input({
      model: 'gpt-5.5',
      resumeSessionId: '01a21d00-2ed2-7f21-a557-49f6622bcc52',
      options: { sandbox: 'read-only', args: ['-c', 'model_reasoning_effort="low"'] },
    }));
    expect(argv.slice(1)).toEqual([
      'exec', '--json', '--skip-git-repo-check', '-s', 'read-only', '-m', 'gpt-5.5', '-c', 'model_reasoning_effort="low"',
      'resume', '01a21d00-2ed2-7f21-a557-49f6622bcc52', '--', '-x fix it; $(rm -rf /)',
    ]);
  });

  it.each([
    [{ sandbox: 'none' }, 'options.sandbox'],
    [{ sandbox: true }, 'options.sandbox'],
    [{ args: '--ephemeral' }, 'options.args'],
    [{ args: ['--sandbox', 'danger-full-access'] }, 'options.args'],
    [{ args: ['--ignore-user-config'] }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => codexAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });
});

describe('codexAdapter', () => {
  it('is the pinned Codex CLI, resumable, on the OpenAI provider', () => {
    expect(codexAdapter).toMatchObject({ id: 'codex', aliases: [], supportsResume: true, provider: 'openai' });
    expect(codexAdapter.cli).toBe(CLI_PINS.codex);
    expect(codexAdapter.description).toMatch(/Codex/);
  });
});

describe('codexAdapter parser on real transcripts', () => {
  it('reads a run with an unknown model slug: session, a harmless warning, a command, a message, usage and an ok result', () => {
    const command = "/bin/bash -lc \"cat > '/home/user/project/hello.txt' <<'MOCK_EOF'\nhello from mock\nMOCK_EOF\"";
    const events = parse(transcriptLines('codex.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: '01a21d00-2ed2-7f21-a557-49f6622bcc52' },
      METADATA_WARNING,
      { kind: 'tool_use', id: 'item_1', name: 'command_execution', input: { command } },
      { kind: 'tool_result', id: 'item_1', output: '', isError: false },
      { kind: 'message', text: 'Done. I created hello.txt.' },
      // Codex's 4444 input tokens include the 14 read from the cache.
      { kind: 'usage', usage: { inputTokens: 4430, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 0 }, costUsd: null, cumulative: true },
      { kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: null, durationMs: null },
    ]);
    expect(classifyFailure(exitedWith(0), events, required)).toEqual({ kind: 'none', transient: false, message: null });
  });

  it('reads a file change made with apply_patch as one tool call and its result', () => {
    const events = parse(transcriptLines('codex-gpt55.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'tool_use', 'tool_result', 'message', 'usage', 'result']);
    expect(events[1]).toEqual({
      kind: 'tool_use', id: 'item_0', name: 'file_change', input: { changes: [{ path: '/home/user/project/hello.txt', kind: 'add' }] },
    });
    expect(events[2]).toEqual({ kind: 'tool_result', id: 'item_0', output: 'add /home/user/project/hello.txt', isError: false });
    expect(events[4]).toMatchObject({ usage: { inputTokens: 4430, outputTokens: 66, cacheReadTokens: 14 } });
  });

  it('reads a 400 as one api error with its status and a failed result: a lasting api_error', () => {
    const events = parse(transcriptLines('codex-e400.jsonl'));
    expect(events).toEqual([
      { kind: 'session', sessionId: '01a21d06-eb2c-71a3-981d-209e9c4e2d13' },
      METADATA_WARNING,
      { kind: 'error', message: 'API error 400: mock 400 error', status: 400, errorKind: 'api' },
      { kind: 'result', ok: false, text: 'API error 400: mock 400 error', numTurns: null, durationMs: null },
    ]);
    expect(classifyFailure(exitedWith(1), events, required)).toEqual({ kind: 'api_error', transient: false, message: 'API error 400: mock 400 error' });
  });

  it('reads a 500 after Codex\'s own reconnects as a transient api_error', () => {
    const events = parse(transcriptLines('codex-e500.jsonl'));
    const errors = events.filter((e) => e.kind === 'error');
    expect(errors).toHaveLength(7);
    expect(errors[1]).toEqual({
      kind: 'error',
      message: 'Reconnecting... 1/5 (We’re currently experiencing high demand, which may cause temporary errors.)',
      status: null,
      errorKind: 'api',
    });
    expect(events.at(-1)).toEqual({
      kind: 'result', ok: false, text: 'We’re currently experiencing high demand, which may cause temporary errors.', numTurns: null, durationMs: null,
    });
    expect(classifyFailure(exitedWith(1), events, required)).toEqual({
      kind: 'api_error', transient: true, message: 'We’re currently experiencing high demand, which may cause temporary errors.',
    });
  });

  it.each([
    ['codex-e401.jsonl', 401, 'auth', false],
    ['codex-e429.jsonl', 429, 'rate_limit', true],
    ['codex-e503.jsonl', 503, 'overloaded', true],
  ] as const)('reads %s as status %i, a %s failure', (name, status, kind, transient) => {
    const events = parse(transcriptLines(name));
    expect(events.filter((e) => e.kind === 'error').at(-1)).toMatchObject({ status });
    expect(classifyFailure(exitedWith(1), events, required)).toMatchObject({ kind, transient });
  });

  it('reads the reconnect loop of an endpoint nobody listens at as network errors, with no result', () => {
    const events = parse(transcriptLines('codex-unreachable.jsonl'));
    expect(events.slice(2)).toEqual([
      { kind: 'error', message: 'Reconnecting... waiting for network (Connection failed: error sending request)', status: null, errorKind: 'network' },
      { kind: 'error', message: 'Reconnecting... waiting for network (Connection failed: error sending request)', status: null, errorKind: 'network' },
    ]);
    expect(events.some((e) => e.kind === 'result')).toBe(false);
  });

  it('reads a resumed run\'s usage as the whole thread\'s totals, the earlier run included', () => {
    const events = parse(transcriptLines('codex-resume.jsonl'));
    expect(events.find((e) => e.kind === 'usage')).toMatchObject({
      usage: { inputTokens: 2208, outputTokens: 44, cacheReadTokens: 14 }, cumulative: true,
    });
    expect(events[0]).toEqual({ kind: 'session', sessionId: '01a21e01-e907-7013-b7c4-4e26c354536e' });
  });
});

describe('codexAdapter parser details', () => {
  it('emits a tool call once, from item.completed when item.started was missed', () => {
    const events = parseRecords([
      { type: 'item.completed', item: { id: 'item_3', type: 'command_execution', command: 'false', aggregated_output: 'oops', exit_code: 1, status: 'failed' } },
    ]);
    expect(events).toEqual([
      { kind: 'tool_use', id: 'item_3', name: 'command_execution', input: { command: 'false' } },
      { kind: 'tool_result', id: 'item_3', output: 'oops', isError: true },
    ]);
  });

  it('reads MCP tool calls with their result text or error', () => {
    const events = parseRecords([
      { type: 'item.started', item: { id: 'm1', type: 'mcp_tool_call', server: 'docs', tool: 'search', arguments: { q: 'x' }, status: 'in_progress' } },
      { type: 'item.completed', item: { id: 'm1', type: 'mcp_tool_call', server: 'docs', tool: 'search', arguments: { q: 'x' },
        result: { content: [{ type: 'text', text: 'found' }, { type: 'image' }] }, status: 'completed' } },
      { type: 'item.completed', item: { id: 'm2', type: 'mcp_tool_call', server: 'docs', tool: 'fetch', error: { message: 'denied' }, status: 'failed' } },
    ]);
    expect(events).toEqual([
      { kind: 'tool_use', id: 'm1', name: 'docs.search', input: { q: 'x' } },
      { kind: 'tool_result', id: 'm1', output: 'found\n[image]', isError: false },
      { kind: 'tool_use', id: 'm2', name: 'docs.fetch', input: null },
      { kind: 'tool_result', id: 'm2', output: 'denied', isError: true },
    ]);
  });

  it('ignores reasoning, todo lists, turn.started, stderr and lines that are not JSON objects', () => {
    const parser = codexAdapter.createParser();
    const lines = [
      '{"type":"turn.started"}',
      '{"type":"item.completed","item":{"id":"r","type":"reasoning","text":"thinking"}}',
      '{"type":"item.updated","item":{"id":"t","type":"todo_list","items":[]}}',
      'Reading additional input from stdin...',
      '[1,2]',
      '{"type":"turn.completed"',
    ];
    expect(lines.flatMap((line) => parser.line(line, 'stdout'))).toEqual([]);
    expect(parser.line('{"type":"error","message":"boom"}', 'stderr')).toEqual([]);
  });

  it('reports a failed turn that no error line announced', () => {
    const events = parseRecords([{ type: 'turn.failed', error: { message: 'unexpected status 404 Not Found: no such model' } }]);
    expect(events).toEqual([
      { kind: 'error', message: 'unexpected status 404 Not Found: no such model', status: 404, errorKind: 'api' },
      { kind: 'result', ok: false, text: 'unexpected status 404 Not Found: no such model', numTurns: null, durationMs: null },
    ]);
  });

  it('emits the session once', () => {
    const events = parseRecords([{ type: 'thread.started', thread_id: 't-1' }, { type: 'thread.started', thread_id: 't-1' }]);
    expect(events).toEqual([{ kind: 'session', sessionId: 't-1' }]);
  });
});

describe('codexAdapter parser robustness', () => {
  const realLines = ['codex.jsonl', 'codex-gpt55.jsonl', 'codex-e400.jsonl', 'codex-e500.jsonl'].flatMap((name) => transcriptLines(name)).filter((l) => l !== '');

  it('never throws on truncated real lines or fields of the wrong type', () => {
    const parser = codexAdapter.createParser();
    for (const line of realLines) {
      for (let cut = 0; cut < line.length; cut += 5) expect(() => parser.line(line.slice(0, cut), 'stdout')).not.toThrow();
    }
    const wrongTypes: unknown[] = [null, 1, 'text', true, [], {}, [null, 1, 'x'], { type: 1 }];
    for (const v of wrongTypes) {
      const records = [
        { type: 'thread.started', thread_id: v },
        { type: 'item.started', item: v },
        { type: 'item.completed', item: { id: v, type: 'command_execution', command: v, aggregated_output: v, exit_code: v, status: v } },
        { type: 'item.completed', item: { id: v, type: 'file_change', changes: v } },
        { type: 'item.completed', item: { id: 'f', type: 'file_change', changes: [v, { kind: v, path: v }] } },
        { type: 'item.completed', item: { id: v, type: 'mcp_tool_call', server: v, tool: v, arguments: v, result: v, error: v } },
        { type: 'item.completed', item: { id: 'm', type: 'mcp_tool_call', result: { content: v } } },
        { type: 'item.completed', item: { type: 'agent_message', text: v } },
        { type: 'item.completed', item: { type: 'error', message: v } },
        { type: 'error', message: v },
        { type: 'turn.completed', usage: v },
        { type: 'turn.completed', usage: { input_tokens: v, cached_input_tokens: v, output_tokens: v, cache_write_input_tokens: v } },
        { type: 'turn.failed', error: v },
        { type: 'turn.failed', error: { message: v } },
      ];
      for (const record of records) expect(() => parser.line(JSON.stringify(record), 'stdout')).not.toThrow();
    }
    expect(parser.end()).toEqual([]);
  });
});
