import { describe, expect, it } from 'vitest';
import { FakeArgsError, parseFakeArgs } from './fake-agent-args.js';

describe('parseFakeArgs', () => {
  it('takes the value after -p verbatim, even when it looks like a flag', () => {
    expect(parseFakeArgs(['-p', '--behaviour crash', '--behaviour', 'noop'])).toMatchObject({ prompt: '--behaviour crash', behaviour: 'noop' });
  });

  it('reads --flag=value and applies defaults', () => {
    const args = parseFakeArgs(['--file=x.txt', '--delay-ms=10', '--tokens', '5']);
    expect(args).toMatchObject({ file: 'x.txt', delayMs: 10, content: 'hello from fake\n', behaviour: null, version: false });
    expect(args.usage).toEqual({ inputTokens: 4, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it.each([[['--bogus']], [['-p']], [['--delay-ms', 'soon']], [['--tokens', 'x']], [['--file', '']]])('rejects %j', (argv) => {
    expect(() => parseFakeArgs(argv)).toThrow(FakeArgsError);
  });
});
