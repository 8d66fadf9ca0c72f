// Splits a byte stream into text lines with bounded memory, whatever the child writes.
import { StringDecoder } from 'node:string_decoder';

/**
 * Feeds chunks in, emits lines without their `\n` (and without a trailing `\r`). UTF-8 sequences split
 * across chunks are reassembled by the decoder. A line longer than `maxLineBytes` is cut at that size
 * (on a character boundary), the rest is dropped up to the next newline, and the line is counted in
 * `truncatedLines`; so at most `maxLineBytes` are held however long the line is.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private heldBytes = 0;
  private dropping = false;
  private ended = false;
  truncatedLines = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly emit: (line: string) => void,
  ) {}

  /** Bytes of the current unfinished line held in memory (never more than `maxLineBytes`). */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  push(chunk: Buffer): void {
    if (!this.ended) this.consume(this.decoder.write(chunk));
  }

  /** Flushes the last line when the stream ended without a newline. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.consume(this.decoder.end());
    this.ended = true;
    if (this.parts.length > 0 || this.dropping) this.flush();
  }

  private consume(text: string): void {
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) {
        this.append(text.slice(start));
        return;
      }
      this.append(text.slice(start, newline));
      this.flush();
      start = newline + 1;
    }
  }

  private append(piece: string): void {
    if (this.dropping || piece.length === 0) return;
    const bytes = Buffer.byteLength(piece);
    const room = this.maxLineBytes - this.heldBytes;
    if (bytes <= room) {
      this.parts.push(piece);
      this.heldBytes += bytes;
      return;
    }
    const kept = truncateUtf8(piece, room);
    if (kept.length > 0) this.parts.push(kept);
    this.heldBytes += Buffer.byteLength(kept);
    this.dropping = true;
  }

  private flush(): void {
    let line = this.parts.join('');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.dropping) this.truncatedLines += 1;
    this.parts = [];
    this.heldBytes = 0;
    this.dropping = false;
    this.emit(line);
  }
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  // A UTF-16 code unit encodes to at least one byte, so `maxBytes` code units are always enough.
  let prefix = text.slice(0, maxBytes);
  if (/[\uD800-\uDBFF]$/.test(prefix)) prefix = prefix.slice(0, -1);
  const bytes = Buffer.from(prefix, 'utf8');
  if (bytes.length <= maxBytes) return prefix;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}
