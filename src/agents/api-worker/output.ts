// Prints WorkerRecords, one JSON line each. Writes are awaited so the last line is out before the exit.
import type { Writable } from 'node:stream';
import { clipText } from '../event-text.js';
import type { WorkerRecord } from './records.js';

/** Longest tool output printed in a `tool_result` line (the model gets the whole output). */
export const MAX_PRINTED_TOOL_OUTPUT_CHARS = 8_000;

export interface RecordWriter {
  write(record: WorkerRecord): Promise<void>;
}

export function createRecordWriter(out: Writable): RecordWriter {
  return {
    write(record) {
      const printed = record.type === 'tool_result' ? { ...record, output: clipText(record.output, MAX_PRINTED_TOOL_OUTPUT_CHARS) } : record;
      return new Promise((resolve) => {
        out.write(`${JSON.stringify(printed)}\n`, () => resolve());
      });
    },
  };
}
