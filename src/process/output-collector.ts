// Reads a child's stdout and stderr: lines to the caller, a total cap, and the stderr tail.
import type { Readable } from 'node:stream';
import { ByteTail } from './byte-tail.js';
import { LineSplitter } from './line-splitter.js';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLimits {
  maxLineBytes: number;
  maxOutputBytes: number;
  stderrTailBytes: number;
  onLine?: ((line: string, stream: OutputStream) => void) | undefined;
}

export class OutputCollector {
  private readonly splitters: Record<OutputStream, LineSplitter>;
  private readonly tail: ByteTail;
  private readBytes = 0;
  outputTruncated = false;

  constructor(private readonly limits: OutputLimits) {
    const emitTo = (stream: OutputStream) => (line: string) => limits.onLine?.(line, stream);
    this.splitters = {
      stdout: new LineSplitter(limits.maxLineBytes, emitTo('stdout')),
      stderr: new LineSplitter(limits.maxLineBytes, emitTo('stderr')),
    };
    this.tail = new ByteTail(limits.stderrTailBytes);
  }

  /** Starts reading `readable`; resolves when it closed (however it closed). */
  attach(readable: Readable, stream: OutputStream): Promise<void> {
    readable.on('data', (chunk: Buffer) => this.take(chunk, stream));
    readable.on('end', () => this.splitters[stream].end());
    // A pipe read error ends the stream like EOF does; the process outcome still comes from `exit`.
    readable.on('error', () => undefined);
    return new Promise((resolve) => readable.once('close', () => resolve()));
  }

  /** Flushes unfinished lines of both streams (after pipes were destroyed rather than ended). Idempotent. */
  finish(): void {
    this.splitters.stdout.end();
    this.splitters.stderr.end();
  }

  get linesTruncated(): number {
    return this.splitters.stdout.truncatedLines + this.splitters.stderr.truncatedLines;
  }

  get stderrTail(): string {
    return this.tail.toString();
  }

  private take(chunk: Buffer, stream: OutputStream): void {
    // The tail is bounded, so it keeps following stderr past the output cap: the last words explain failures.
    if (stream === 'stderr') this.tail.push(chunk);
    const room = this.limits.maxOutputBytes - this.readBytes;
    this.readBytes += chunk.length;
    if (chunk.length > room) this.outputTruncated = true;
    if (room <= 0) return;
    this.splitters[stream].push(chunk.length > room ? chunk.subarray(0, room) : chunk);
  }
}
