import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentInputWith, exitedWith, parsing, TEST_ENDPOINTS, transcriptLines } from '../../test/support/agent-fixtures.js';
import { classifyFailure } from '../process/failure.js';
import { NO_PROVIDERS } from './adapter.js';
import { claudeCodeAdapter } from './claude-code.js';
import { CLI_PINS } from './cli-pins.js';

const input = agentInputWith({ binary: '/opt/kage/agents/bin/claude' });
const { parse } = parsing(claudeCodeAdapter);

const QUIET_ENV = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
  CLAUDE_CODE_MAX_RETRIES: '0',
};

function runningAs(uid: number): void {
  vi.spyOn(process, 'getuid').mockReturnValue(uid);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('claudeCodeAdapter.buildCommand', () => {
  it('runs headless with stream-json, bypassing permissions, the prompt after `--` as one element, stdin closed', () => {
    runningAs(1000);
    const command = claudeCodeAdapter.buildCommand(input());
    expect(command).toEqual({
      argv: [
        '/opt/kage/agents/bin/claude', '-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions',
        '--', '-x fix it; $(rm -rf /)',
      ],
      env: QUIET_ENV,
      stdin: { kind: 'ignore' },
      homeFiles: [],
    });
  });

  it('falls back to the bare command name when no binary was found', () => {
    expect(claudeCodeAdapter.buildCommand(input({ binary: null })).argv[0]).toBe('claude');
  });

  it('hands over the Anthropic endpoint without /v1, and its key, and no other provider\'s', () => {
    runningAs(1000);
    const { env } = claudeCodeAdapter.buildCommand(input({ providers: TEST_ENDPOINTS }));
    expect(env).toEqual({ ...QUIET_ENV, ANTHROPIC_BASE_URL: 'http://127.0.0.1:4011', ANTHROPIC_API_KEY: 'sk-ant' });
    const withV1 = { ...NO_PROVIDERS, anthropic: { baseUrl: 'https://proxy.example/anthropic/v1/', apiKey: null } };
    expect(claudeCodeAdapter.buildCommand(input({ providers: withV1 })).env).toEqual({ ...QUIET_ENV, ANTHROPIC_BASE_URL: 'https://proxy.example/anthropic' });
  });

  it('sets IS_SANDBOX=1 only as root and only when permissions are bypassed', () => {
    runningAs(0);
    expect(claudeCodeAdapter.buildCommand(input()).env.IS_SANDBOX).toBe('1');
    expect(claudeCodeAdapter.buildCommand(input({ options: { permissionMode: 'bypassPermissions' } })).env.IS_SANDBOX).toBe('1');
    expect(claudeCodeAdapter.buildCommand(input({ options: { permissionMode: 'acceptEdits' } })).env).not.toHaveProperty('IS_SANDBOX');
    runningAs(1000);
    expect(claudeCodeAdapter.buildCommand(input()).env).not.toHaveProperty('IS_SANDBOX');
  });

  it('uses options.permissionMode instead of the bypass flag', () => {
    const { argv } = claudeCodeAdapter.buildCommand(input({ options: { permissionMode: 'acceptEdits' } }));
    expect(argv.slice(5, 7)).toEqual(['--permission-mode', 'acceptEdits']);
    expect(argv).not.toContain('--dangerously-skip-permissions');
  });

  it('passes the model, the session to resume and extra args, extra args just before the prompt', () => {
    const { argv } = claudeCodeAdapter.buildCommand(input({
      model: 'claude-sonnet-4-5',
      resumeSessionId: 'aa5c3a71-6ba8-4526-ac59-7d141f4982df',
      options: { args: ['--max-budget-usd', '2'] },
    }));
    expect(argv.slice(6)).toEqual([
      '--model', 'claude-sonnet-4-5', '--resume', 'aa5c3a71-6ba8-4526-ac59-7d141f4982df', '--max-budget-usd', '2', '--', '-x fix it; $(rm -rf /)',
    ]);
  });

  it('leaves the model to the CLI when none is set', () => {
    expect(claudeCodeAdapter.buildCommand(input({ model: '  ' })).argv).not.toContain('--model');
  });

  it.each([
    [{ permissionMode: 'yolo' }, 'options.permissionMode'],
    [{ permissionMode: 1 }, 'options.permissionMode'],
    [{ args: '--verbose' }, 'options.args'],
    [{ args: ['--output-format=json'] }, 'options.args'],
    [{ args: ['-p'] }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => claudeCodeAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });
});

describe('claudeCodeAdapter', () => {
  it('is the pinned Claude Code CLI, known as claude too, resumable, on the Anthropic provider', () => {
    expect(claudeCodeAdapter).toMatchObject({ id: 'claude-code', aliases: ['claude'], supportsResume: true, provider: 'anthropic' });
    expect(claudeCodeAdapter.cli).toBe(CLI_PINS['claude-code']);
    expect(claudeCodeAdapter.description).toMatch(/Claude Code/);
  });
});

describe('claudeCodeAdapter parser on real transcripts', () => {
  it('reads a successful run: session, tool call, message, the result line\'s totals and an ok result', () => {
    const events = parse(transcriptLines('claude.jsonl'));
    expect(events.map((e) => e.kind)).toEqual(['session', 'tool_use', 'tool_result', 'message', 'usage', 'result']);
    expect(events[0]).toEqual({ kind: 'session', sessionId: 'aa5c3a71-6ba8-4526-ac59-7d141f4982df', model: 'claude-opus-5-5' });
    expect(events[1]).toMatchObject({ kind: 'tool_use', name: 'Write', input: { file_path: '/home/user/project/hello.txt', content: 'hello from mock\n' } });
    expect(events[4]).toEqual({
      kind: 'usage',
      usage: { inputTokens: 4444, outputTokens: 66, cacheReadTokens: 14, cacheWriteTokens: 16 },
      costUsd: expect.closeTo(0.0191788, 10),
      cumulative: true,
    });
    expect(events[5]).toEqual({ kind: 'result', ok: true, text: 'Done. I created hello.txt.', numTurns: 2, durationMs: 811 });
    expect(classifyFailure(exitedWith(0), events, { requireResultEvent: true }).kind).toBe('none');
  });

  it('reports a 400 as an api error with its status, and the failure as a lasting api_error', () => {
    const events = parse(transcriptLines('claude-e400.jsonl'));
    expect(events.filter((e) => e.kind === 'error')).toEqual([
      { kind: 'error', message: 'API Error: 400 mock 400 error', status: 400, errorKind: 'api' },
    ]);
    expect(events.at(-1)).toMatchObject({ kind: 'result', ok: false });
    expect(classifyFailure(exitedWith(1), events, { requireResultEvent: true })).toEqual({
      kind: 'api_error', transient: false, message: 'API Error: 400 mock 400 error',
    });
  });

  it('reports a 500 that was still being retried as a transient api_error', () => {
    const events = parse(transcriptLines('claude-e500.jsonl'));
    expect(events.filter((e) => e.kind === 'result')).toEqual([]);
    const errors = events.filter((e) => e.kind === 'error');
    expect(errors).toHaveLength(9);
    expect(errors.every((e) => e.status === 500)).toBe(true);
    expect(classifyFailure(exitedWith(1), events, { requireResultEvent: true })).toMatchObject({ kind: 'api_error', transient: true });
  });
});
