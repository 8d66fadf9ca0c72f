import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../domain/index.js';
import { classifyFailure } from './failure.js';
import type { ProcessResult } from './supervisor.js';

function result(overrides: Partial<ProcessResult> = {}): ProcessResult {
  return {
    exitCode: 0,
    signal: null,
    timedOut: false,
    cancelled: false,
    durationMs: 1_234,
    stderrTail: '',
    spawnError: null,
    outputTruncated: false,
    linesTruncated: 0,
    pid: 42,
    ...overrides,
  };
}

const ok: AgentEvent = { kind: 'result', ok: true, text: 'done', numTurns: 3, durationMs: 1_000 };
const required = { requireResultEvent: true };
const optional = { requireResultEvent: false };

function apiError(errorKind: Extract<AgentEvent, { kind: 'error' }>['errorKind'], status: number | null, message = 'boom'): AgentEvent {
  return { kind: 'error', message, status, errorKind };
}

describe('classifyFailure', () => {
  it('reports success for exit 0 with an ok result', () => {
    expect(classifyFailure(result(), [ok], required)).toEqual({ kind: 'none', transient: false, message: null });
  });

  it('reports success for exit 0 when no result event is required', () => {
    expect(classifyFailure(result(), [], optional).kind).toBe('none');
  });

  it('puts cancellation before everything else', () => {
    const f = classifyFailure(result({ cancelled: true, timedOut: true, signal: 'SIGTERM', exitCode: null }), [], required);
    expect(f).toMatchObject({ kind: 'cancelled', transient: false });
  });

  it('reports a timeout as permanent', () => {
    const f = classifyFailure(result({ timedOut: true, signal: 'SIGKILL', exitCode: null, durationMs: 60_000 }), [], required);
    expect(f).toEqual({ kind: 'timeout', transient: false, message: 'Timed out after 60.0 s' });
  });

  it('reports a spawn error as permanent', () => {
    const f = classifyFailure(result({ spawnError: 'spawn claude ENOENT', exitCode: null, pid: null }), [], required);
    expect(f.kind).toBe('spawn_error');
    expect(f.transient).toBe(false);
    expect(f.message).toContain('spawn claude ENOENT');
  });

  it.each([
    ['rate_limit', 429, 'rate_limit'],
    ['overloaded', 529, 'overloaded'],
    ['network', null, 'network'],
  ] as const)('retries a %s error', (errorKind, status, kind) => {
    const f = classifyFailure(result({ exitCode: 1 }), [apiError(errorKind, status, 'try later')], required);
    expect(f).toEqual({ kind, transient: true, message: 'try later' });
  });

  it('retries an API error with a 5xx status', () => {
    expect(classifyFailure(result({ exitCode: 1 }), [apiError('api', 500)], required)).toMatchObject({ kind: 'api_error', transient: true });
  });

  it('does not retry an API error with a 4xx status and keeps its message', () => {
    const f = classifyFailure(result({ exitCode: 1 }), [apiError('api', 400, 'prompt is too long')], required);
    expect(f).toEqual({ kind: 'api_error', transient: false, message: 'prompt is too long' });
  });

  it('does not retry an unreachable endpoint and keeps its message', () => {
    const message = 'cannot reach Ollama at http://127.0.0.1:11434: connect ECONNREFUSED 127.0.0.1:11434';
    const failed: AgentEvent = { kind: 'result', ok: false, text: message, numTurns: 0, durationMs: 5 };
    const f = classifyFailure(result({ exitCode: 1 }), [apiError('unreachable', null, message), failed], required);
    expect(f).toEqual({ kind: 'unreachable', transient: false, message });
  });

  it('does not retry an auth error', () => {
    const f = classifyFailure(result({ exitCode: 1 }), [apiError('auth', 401, 'invalid x-api-key')], required);
    expect(f).toEqual({ kind: 'auth', transient: false, message: 'invalid x-api-key' });
  });

  it('does not retry an exhausted budget', () => {
    expect(classifyFailure(result({ exitCode: 1 }), [apiError('budget', null, 'max budget')], required)).toMatchObject({
      kind: 'budget',
      transient: false,
    });
  });

  it('classifies an error the agent reported even when it exited 0 without a result', () => {
    expect(classifyFailure(result(), [apiError('auth', 401)], optional)).toMatchObject({ kind: 'auth', transient: false });
  });

  it('uses the last error when several were reported', () => {
    const events = [apiError('overloaded', 529), apiError('auth', 401, 'logged out')];
    expect(classifyFailure(result({ exitCode: 1 }), events, required)).toMatchObject({ kind: 'auth', message: 'logged out' });
  });

  it('ignores errors the agent recovered from when its final result is ok', () => {
    expect(classifyFailure(result(), [apiError('overloaded', 529), ok], required).kind).toBe('none');
  });

  it('reports a failed result as a permanent exit error with its text', () => {
    const failed: AgentEvent = { kind: 'result', ok: false, text: 'could not finish', numTurns: 1, durationMs: 10 };
    expect(classifyFailure(result({ exitCode: 1 }), [failed], required)).toEqual({
      kind: 'exit_error',
      transient: false,
      message: 'could not finish',
    });
  });

  it('reports a signal we did not send as a transient crash with the stderr tail', () => {
    const f = classifyFailure(result({ exitCode: null, signal: 'SIGSEGV', stderrTail: 'segfault at 0x0\n' }), [], required);
    expect(f).toEqual({ kind: 'crash', transient: true, message: 'Killed by SIGSEGV: segfault at 0x0' });
  });

  it('reports a non-zero exit without a required result as a transient crash', () => {
    const f = classifyFailure(result({ exitCode: 2, stderrTail: 'panic: oops' }), [], required);
    expect(f).toEqual({ kind: 'crash', transient: true, message: 'Exited with code 2 without reporting a result: panic: oops' });
  });

  it('reports exit 0 without a required result as a transient crash', () => {
    expect(classifyFailure(result(), [], required)).toMatchObject({ kind: 'crash', transient: true });
  });

  it('reports a non-zero exit of a plain command as a permanent exit error', () => {
    const f = classifyFailure(result({ exitCode: 1, stderrTail: 'tests failed' }), [], optional);
    expect(f).toEqual({ kind: 'exit_error', transient: false, message: 'Exited with code 1: tests failed' });
  });

  it('keeps messages short, quoting the end of a long stderr', () => {
    const stderrTail = `${'noise '.repeat(500)}the real error`;
    const f = classifyFailure(result({ exitCode: 1, stderrTail }), [], optional);
    expect(f.message?.length).toBeLessThan(560);
    expect(f.message?.endsWith('the real error')).toBe(true);
  });
});
