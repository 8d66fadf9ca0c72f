import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentInput } from '../../test/support/agent-fixtures.js';
import { isKageError } from '../domain/index.js';
import type { AgentRunInput } from './adapter.js';
import { buildFakeCommand, fakeAdapter, fakeAgentPath } from './fake.js';
import { fakeCostUsd, parseFakeTokens } from './fake-behaviours.js';

function input(options: Record<string, unknown>, prompt = 'fix the bug', model: string | null = null): AgentRunInput {
  return agentInput({ prompt, model, worktree: '/w', home: '/h', options });
}

function fieldOfError(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    if (isKageError(err, 'KAGE_INVALID_INPUT')) return err.field;
    throw err;
  }
  throw new Error('expected KAGE_INVALID_INPUT');
}

describe('fakeAgentPath', () => {
  it('points beside the compiled module, and at dist when running from the TypeScript source', () => {
    expect(fakeAgentPath(pathToFileURL('/app/dist/agents/fake.js').href)).toBe(path.resolve('/app/dist/agents/fake-agent.js'));
    expect(fakeAgentPath(pathToFileURL('/app/src/agents/fake.ts').href)).toBe(path.resolve('/app/dist/agents/fake-agent.js'));
  });
});

describe('buildFakeCommand', () => {
  it('runs the fake agent with the current node, the prompt as one element and behaviour ok by default', () => {
    const prompt = '$(touch X); `id`\nnext';
    const command = buildFakeCommand(input({}, prompt));
    expect(command.argv).toEqual([process.execPath, fakeAgentPath(), '-p', prompt, '--behaviour', 'ok']);
    expect(command.stdin).toEqual({ kind: 'ignore' });
    expect(command.homeFiles).toEqual([]);
    expect(command.env).toEqual({});
  });

  it('maps the allowed options to flags and passes the model', () => {
    const command = buildFakeCommand(
      input({ behaviour: 'slow', file: 'a/b.txt', content: '', delayMs: 5, floodBytes: '1000', tokens: '10,2', errorStatus: 529, other: 'x' }, 'p', 'm'),
    );
    expect(command.argv.slice(4)).toEqual([
      '--behaviour', 'slow', '--model', 'm', '--file', 'a/b.txt', '--content', '', '--delay-ms', '5',
      '--flood-bytes', '1000', '--tokens', '10,2', '--error-status', '529',
    ]);
  });

  it.each([
    [{ behaviour: 'explode' }, 'options.behaviour'],
    [{ behaviour: 3 }, 'options.behaviour'],
    [{ delayMs: -1 }, 'options.delayMs'],
    [{ delayMs: 1.5 }, 'options.delayMs'],
    [{ floodBytes: 'lots' }, 'options.floodBytes'],
    [{ tokens: '1,2,3,4,5' }, 'options.tokens'],
    [{ file: '' }, 'options.file'],
    [{ content: 7 }, 'options.content'],
  ])('rejects %j naming %s', (options, field) => {
    expect(fieldOfError(() => buildFakeCommand(input(options)))).toBe(field);
  });

  it('is registered as `fake` with the Claude parser and no resume', () => {
    expect(fakeAdapter.id).toBe('fake');
    expect(fakeAdapter.supportsResume).toBe(false);
    const parser = fakeAdapter.createParser();
    expect(parser.line('{"type":"system","subtype":"init","session_id":"s","model":"m"}', 'stdout')).toEqual([
      { kind: 'session', sessionId: 's', model: 'm' },
    ]);
  });
});

describe('fake usage', () => {
  it('splits a single token total 80/20 and reads explicit lists', () => {
    expect(parseFakeTokens('10000')).toEqual({ inputTokens: 8000, outputTokens: 2000, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(parseFakeTokens('1,2,3,4')).toEqual({ inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 4 });
    expect(parseFakeTokens('')).toBeNull();
    expect(parseFakeTokens('1e3')).toBeNull();
  });

  it('prices usage at a fixed list price', () => {
    expect(fakeCostUsd({ inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 })).toBe(0.0081);
  });
});
