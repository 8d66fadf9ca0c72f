import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSecretValue, withoutFinalNewline } from './secret-input.js';

function terminal(): { stdin: PassThrough & { isTTY: boolean; setRawMode: (raw: boolean) => void; raw: boolean[] }; stderr: { text: string; write(t: string): void } } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(raw: boolean) { stdin.raw.push(raw); } });
  const stderr = { text: '', write(t: string) { stderr.text += t; } };
  return { stdin, stderr };
}

describe('readSecretValue', () => {
  it('reads piped stdin whole, without the one newline echo or a here-string adds', async () => {
    const stdin = new PassThrough();
    stdin.end('sk-value \n');
    expect(await readSecretValue('?', { stdin, stderr: { write: () => true } })).toBe('sk-value ');
  });

  it('keeps every other byte of piped input', () => {
    expect(withoutFinalNewline('a\r\n')).toBe('a');
    expect(withoutFinalNewline('a\n\n')).toBe('a\n');
    expect(withoutFinalNewline('a')).toBe('a');
  });

  it('prompts on a terminal in raw mode without echoing, with backspace, until Enter', async () => {
    const io = terminal();
    const pending = readSecretValue('Value: ', io);
    io.stdin.write('sk-abx');
    io.stdin.write('\u007fc\r');
    expect(await pending).toBe('sk-abc');
    expect(io.stderr.text).toBe('Value: \n');
    expect(io.stdin.raw).toEqual([true, false]);
  });

  it('gives null when the prompt is cancelled with Ctrl-C', async () => {
    const io = terminal();
    const pending = readSecretValue('Value: ', io);
    io.stdin.write('sk-\u0003');
    expect(await pending).toBeNull();
    expect(io.stdin.raw).toEqual([true, false]);
  });
});
