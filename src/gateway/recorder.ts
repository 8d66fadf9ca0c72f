// The flight recorder's side of the gateway: a tap that keeps a copy of an answer's chunks as they pass to
// the client (never holding the client back: the chunks are the very buffers written, kept by reference, up
// to a cap per exchange), with when each passed; and the per-clone sequence numbers exchanges are stored by.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FlightGrant, GatewayGrant, GatewayProvider, RecordedExchange } from '../domain/index.js';
import { redactHeaders } from './redact.js';

/** Where exchanges are kept (PgRecordingStore). */
export interface RecordingStore {
  insertRecording(exchange: RecordedExchange): Promise<void>;
  /** The sequence number of the clone's next exchange: one past the last stored, 0 for the first. */
  nextRecordingSeq(taskId: string, cloneName: string): Promise<number>;
}

export const DEFAULT_MAX_RECORDED_BYTES = 16 * 1024 * 1024;

export interface TappedRequest {
  grant: GatewayGrant;
  flight: FlightGrant;
  seq: number;
  provider: GatewayProvider;
  method: string;
  /** After the provider prefix, with the query string redacted. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  startedAt: Date;
  /** `performance.now()` when the request arrived. */
  started: number;
}

export interface ExchangeTap {
  /** The answer's status and headers as they go to the client. */
  response(status: number, headers: IncomingHttpHeaders | OutgoingHttpHeaders): void;
  /** One body chunk, exactly as it goes to the client. */
  chunk(chunk: Buffer): void;
  /** The exchange to store, once the answer is over. */
  exchange(end: { stream: boolean; complete: boolean; error: string | null }): RecordedExchange;
}

export function createExchangeTap(request: TappedRequest, maxBytes: number): ExchangeTap {
  let status: number | null = null;
  let headers: Record<string, string | string[]> = {};
  let answeredAt = 0;
  const chunks: Buffer[] = [];
  const chunkSizes: number[] = [];
  const chunkOffsetsMs: number[] = [];
  let kept = 0;
  let bytes = 0;
  let truncated = false;
  return {
    response(s, h) {
      status = s;
      headers = redactHeaders(h);
      answeredAt = performance.now();
    },
    chunk(chunk) {
      bytes += chunk.length;
      if (truncated) return;
      const part = kept + chunk.length > maxBytes ? chunk.subarray(0, maxBytes - kept) : chunk;
      truncated = part.length < chunk.length;
      if (part.length === 0) return;
      chunks.push(part);
      chunkSizes.push(part.length);
      chunkOffsetsMs.push(Math.round((performance.now() - answeredAt) * 100) / 100);
      kept += part.length;
    },
    exchange(end) {
      const { grant, flight } = request;
      return {
        taskId: grant.taskId, cloneId: grant.cloneId, cloneName: flight.cloneName, attempt: flight.attempt, seq: request.seq,
        provider: request.provider, method: request.method, path: request.path, headers: redactHeaders(request.headers),
        body: request.body, status, responseHeaders: headers, responseBody: Buffer.concat(chunks, kept), chunkSizes,
        chunkOffsetsMs, bytes, truncated, complete: end.complete, stream: end.stream, workdir: flight.workdir,
        home: flight.home, startedAt: request.startedAt, durationMs: performance.now() - request.started, error: end.error,
      };
    },
  };
}

/**
 * Sequence numbers per clone, in order of arrival at this gateway: the first of a clone continues after what
 * the store holds (an attempt retried by another process), later ones count on in memory.
 */
export function createSequencer(store: RecordingStore): { next(taskId: string, cloneName: string): Promise<number>; forget(taskId: string, cloneName: string): void } {
  const last = new Map<string, Promise<number>>();
  return {
    next(taskId, cloneName) {
      const key = `${taskId}/${cloneName}`;
      const previous = last.get(key) ?? store.nextRecordingSeq(taskId, cloneName).then((n) => n - 1, () => -1);
      const mine = previous.then((n) => n + 1);
      last.set(key, mine);
      return mine;
    },
    forget(taskId, cloneName) {
      last.delete(`${taskId}/${cloneName}`);
    },
  };
}
