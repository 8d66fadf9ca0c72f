import { describe, expect, it } from 'vitest';
import { agentInput } from '../../test/support/agent-fixtures.js';
import { isKageError } from '../domain/index.js';
import type { AgentRunInput } from './adapter.js';
import { buildShellCommand, createShellParser, SHELL_MAX_LINE_CHARS, shellAdapter } from './shell.js';

function input(options: Record<string, unknown>, prompt = 'fix it', model: string | null = 'm-1'): AgentRunInput {
  return agentInput({ prompt, model, worktree: '/w/clone-1', home: '/h/clone-1', options });
}

function expectInvalid(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (err) {
    expect(isKageError(err, 'KAGE_INVALID_INPUT')).toBe(true);
    expect((err as { field: string }).field).toBe(field);
    return;
  }
  throw new Error('expected a KAGE_INVALID_INPUT error');
}

describe('buildShellCommand', () => {
  it('keeps a prompt full of shell syntax as one verbatim argv element', () => {
    const prompt = 'do $(touch X) and `rm -rf ~`; echo pwned\nsecond line | cat > /etc/passwd && "quoted" \'single\'';
    const command = buildShellCommand(input({ argv: ['my-agent', '--prompt', '{prompt}', '--flag'] }, prompt));
    expect(command.argv).toEqual(['my-agent', '--prompt', prompt, '--flag']);
    expect(command.stdin).toEqual({ kind: 'ignore' });
  });

  it('substitutes placeholders inside elements, in one pass', () => {
    const command = buildShellCommand(input({ argv: ['agent', '--msg={prompt}', '--model', '{model}', '--dir={worktree}'] }, 'use {model} and {worktree}'));
    expect(command.argv).toEqual(['agent', '--msg=use {model} and {worktree}', '--model', 'm-1', '--dir=/w/clone-1']);
  });

  it('substitutes an empty string for a missing model', () => {
    expect(buildShellCommand(input({ argv: ['agent', '{model}'] }, 'p', null)).argv).toEqual(['agent', '']);
  });

  it('sends the prompt on stdin when the template has no {prompt}', () => {
    const command = buildShellCommand(input({ argv: ['agent', '--quiet'] }, 'the prompt'));
    expect(command.argv).toEqual(['agent', '--quiet']);
    expect(command.stdin).toEqual({ kind: 'text', text: 'the prompt' });
  });

  it('appends the prompt as the last argument when promptVia is arg and there is no placeholder', () => {
    const command = buildShellCommand(input({ argv: ['agent'], promptVia: 'arg' }, 'a; b'));
    expect(command.argv).toEqual(['agent', 'a; b']);
    expect(command.stdin).toEqual({ kind: 'ignore' });
  });

  it('can send the prompt on stdin even with a placeholder', () => {
    const command = buildShellCommand(input({ argv: ['agent', '{prompt}'], promptVia: 'stdin' }, 'p'));
    expect(command.stdin).toEqual({ kind: 'text', text: 'p' });
  });

  it('has no env additions and no home files', () => {
    const command = buildShellCommand(input({ argv: ['agent'] }));
    expect(command.env).toEqual({});
    expect(command.homeFiles).toEqual([]);
  });

  it.each([[undefined], ['agent --x'], [[]], [['agent', 3]], [[null]]])('rejects options.argv = %j', (argv) => {
    expectInvalid(() => buildShellCommand(input({ argv })), 'options.argv');
  });

  it('rejects an argv template whose executable is empty', () => {
    expectInvalid(() => buildShellCommand(input({ argv: ['{model}', 'x'] }, 'p', null)), 'options.argv');
  });

  it('rejects an unknown promptVia', () => {
    expectInvalid(() => buildShellCommand(input({ argv: ['agent'], promptVia: 'file' })), 'options.promptVia');
  });
});

describe('createShellParser', () => {
  it('turns each non-empty stdout line into a trimmed message and ends with an ok result', () => {
    const parser = shellAdapter.createParser();
    const events = [
      ...parser.line('  working on it  ', 'stdout'),
      ...parser.line('', 'stdout'),
      ...parser.line('   ', 'stdout'),
      ...parser.line('a warning', 'stderr'),
      ...parser.line('{"type":"result","usage":{"input_tokens":5}}', 'stdout'),
      ...parser.end(),
    ];
    expect(events).toEqual([
      { kind: 'message', text: 'working on it' },
      { kind: 'message', text: '{"type":"result","usage":{"input_tokens":5}}' },
      { kind: 'result', ok: true, text: 'exited', numTurns: null, durationMs: null },
    ]);
  });

  it('caps long lines and ends only once', () => {
    const parser = createShellParser();
    expect(parser.line('q'.repeat(10_000), 'stdout')[0]).toMatchObject({ kind: 'message' });
    expect((parser.line('q'.repeat(10_000), 'stdout')[0] as { text: string }).text.length).toBe(SHELL_MAX_LINE_CHARS);
    expect(parser.end()).toHaveLength(1);
    expect(parser.end()).toEqual([]);
  });
});
