// The mock's record of every request it served: kept in memory (newest last, capped) and, when a file is
// given, appended to it as JSON lines once each response is over.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { ProtocolName } from './protocol.js';
import type { MockTurnUsage } from './usage.js';

export interface MockRequestRecord {
  /** ISO-8601 time the request arrived. */
  time: string;
  method: string;
  /** Path and query string, with a `key` query parameter redacted. */
  path: string;
  /** The wire protocol of the route, or null for probes and unknown paths. */
  protocol: ProtocolName | null;
  /** `write`, `text`, `error429`, …; `invalid` for a marker that names no scenario; null when no scenario ran. */
  scenario: string | null;
  model: string | null;
  /** The tool the mock called in its answer. */
  tool: string | null;
  /** Request headers, credentials redacted. */
  headers: Record<string, string | string[]>;
  /** The parsed JSON body; the raw text when it is not JSON; null when empty. */
  body: unknown;
  /** The response status; null while unanswered, and for a request that never got headers (`hang`). */
  status: number | null;
  /** The usage the answer reported; null for errors, probes and streams that report none. */
  usage: MockTurnUsage | null;
}

export const REDACTED = '[redacted]';
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'x-goog-api-key', 'api-key']);
/** Oldest records are dropped past this, so a long demo does not grow without bound (Claude Code sends ~100 kB per request). */
const MAX_RECORDS = 1000;

export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
}

/** Path and query of `url`; Google clients may send the key as `?key=`. */
export function redactedPath(url: URL): string {
  if (!url.searchParams.has('key')) return url.pathname + url.search;
  const params = new URLSearchParams(url.searchParams);
  params.set('key', REDACTED);
  return `${url.pathname}?${params.toString()}`;
}

export interface RequestLog {
  add(record: MockRequestRecord): void;
  /** The response to `record` is over (sent, failed or abandoned): write it to the file. */
  finish(record: MockRequestRecord): void;
  list(): MockRequestRecord[];
  clear(): void;
  close(): Promise<void>;
}

export function createRequestLog(file: string | undefined): RequestLog {
  let records: MockRequestRecord[] = [];
  let sink: WriteStream | null = file === undefined ? null : createWriteStream(file, { flags: 'a' });
  sink?.on('error', (err) => {
    process.stderr.write(`mock-model: cannot write the request log ${file}: ${err.message}\n`);
    sink = null;
  });
  return {
    add(record) {
      records.push(record);
      if (records.length > MAX_RECORDS) records = records.slice(-MAX_RECORDS);
    },
    finish(record) {
      sink?.write(`${JSON.stringify(record)}\n`);
    },
    list: () => records.map((r) => ({ ...r })),
    clear() {
      records = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (sink === null) return resolve();
        sink.end(resolve);
        sink = null;
      }),
  };
}
