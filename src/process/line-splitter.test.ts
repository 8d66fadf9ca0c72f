import { describe, expect, it } from 'vitest';
import { LineSplitter, truncateUtf8 } from './line-splitter.js';

function collect(maxLineBytes: number): { splitter: LineSplitter; lines: string[] } {
  const lines: string[] = [];
  return { splitter: new LineSplitter(maxLineBytes, (line) => lines.push(line)), lines };
}

describe('LineSplitter', () => {
  it('splits on newlines, strips carriage returns and flushes the last partial line at the end', () => {
    const { splitter, lines } = collect(1024);
    splitter.push(Buffer.from('one\r\ntw'));
    splitter.push(Buffer.from('o\n\nthree'));
    expect(lines).toEqual(['one', 'two', '']);
    splitter.end();
    splitter.end();
    expect(lines).toEqual(['one', 'two', '', 'three']);
  });

  it('reassembles a UTF-8 character split across chunks', () => {
    const { splitter, lines } = collect(1024);
    const bytes = Buffer.from('héllo 🌊\n');
    for (const byte of bytes) splitter.push(Buffer.from([byte]));
    expect(lines).toEqual(['héllo 🌊']);
  });

  it('holds at most maxLineBytes of a huge line and counts it as truncated', () => {
    const { splitter, lines } = collect(1000);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let maxPending = 0;
    for (let i = 0; i < 200; i += 1) {
      splitter.push(chunk);
      maxPending = Math.max(maxPending, splitter.pendingBytes);
    }
    splitter.push(Buffer.from('tail-dropped\nnext\n'));
    expect(maxPending).toBe(1000);
    expect(lines).toEqual(['x'.repeat(1000), 'next']);
    expect(splitter.truncatedLines).toBe(1);
  });

  it('flags a truncated last line without a newline', () => {
    const { splitter, lines } = collect(4);
    splitter.push(Buffer.from('abcdef'));
    splitter.end();
    expect(lines).toEqual(['abcd']);
    expect(splitter.truncatedLines).toBe(1);
  });

  it('cuts a long line on a character boundary', () => {
    const { splitter, lines } = collect(5);
    splitter.push(Buffer.from('ab€€\n'));
    expect(lines).toEqual(['ab€']);
  });
});

describe('truncateUtf8', () => {
  it('never splits a character', () => {
    expect(truncateUtf8('€€', 4)).toBe('€');
    expect(truncateUtf8('a🌊', 4)).toBe('a');
    expect(truncateUtf8('a🌊', 5)).toBe('a🌊');
    expect(truncateUtf8('abc', 0)).toBe('');
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });
});
