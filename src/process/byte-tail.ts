// Keeps the last N bytes of a stream (the stderr tail a failure message quotes).

export class ByteTail {
  private chunks: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    if (this.maxBytes <= 0 || chunk.length === 0) return;
    // Copy what we keep: a subarray would pin the stream's whole chunk in memory.
    const kept = chunk.length > this.maxBytes ? chunk.subarray(chunk.length - this.maxBytes) : chunk;
    this.chunks.push(Buffer.from(kept));
    this.heldBytes += kept.length;
    while (this.chunks.length > 1 && this.heldBytes - (this.chunks[0]?.length ?? 0) >= this.maxBytes) {
      this.heldBytes -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** The tail as text; a character cut at the front is skipped rather than shown as a replacement. */
  toString(): string {
    const all = Buffer.concat(this.chunks);
    let start = Math.max(0, all.length - this.maxBytes);
    while (start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80) start += 1;
    return all.subarray(start).toString('utf8');
  }
}
