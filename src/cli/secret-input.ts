// Reads a secret's value for `kage secrets set`: all of stdin when it is piped, else a prompt that does not
// echo. Never from argv, where every user of the machine can read it (/proc/<pid>/cmdline, `ps`).
import { KageError } from '../domain/index.js';

/** Piped input past this is refused before it is all buffered; the store's own limit is lower. */
const MAX_INPUT_BYTES = 1024 * 1024;

export interface SecretInputIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stderr: { write(text: string): unknown };
}

/** The value, or null when the user cancelled the prompt with Ctrl-C. */
export async function readSecretValue(prompt: string, io: SecretInputIo): Promise<string | null> {
  if (io.stdin.isTTY === true && io.stdin.setRawMode !== undefined) return promptHidden(prompt, io);
  return withoutFinalNewline(await readAll(io.stdin));
}

/** `echo key | kage secrets set x` and here-strings add one newline that is not part of the key. */
export function withoutFinalNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buf.length;
    if (bytes > MAX_INPUT_BYTES) {
      throw new KageError('KAGE_INVALID_INPUT', `Expected \`value\` on stdin to be at most ${MAX_INPUT_BYTES} bytes, got more`, { field: 'value' });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function promptHidden(prompt: string, io: SecretInputIo): Promise<string | null> {
  const { stdin, stderr } = io;
  return new Promise((resolve) => {
    let value: string[] = [];
    const finish = (result: string | null): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const text = chunk.toString();
      // An escape sequence is a cursor or function key, not part of the value.
      if (text.startsWith('\u001b')) return;
      for (const ch of text) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(value.join(''));
        if (ch === '\u0003') return finish(null);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value.push(ch);
      }
    };
    stderr.write(prompt);
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
