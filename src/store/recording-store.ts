// The flight recorder's table: every request/response pair of a recording task's model traffic, written by
// the gateway as each exchange ends and read back by a replay, one clone attempt at a time. Shares the pool.
import type pg from 'pg';
import type { GatewayProvider, RecordedExchange, RecordedRequest, RecordedResponse } from '../domain/index.js';
import { sql } from './sql.js';

type Row = Record<string, any>;
type Headers = Record<string, string | string[]>;

export interface StoredExchange extends RecordedExchange {
  id: string;
}

function toRequest(row: Row): RecordedRequest {
  return {
    id: String(row.id), seq: row.seq, provider: row.provider as GatewayProvider, method: row.method, path: row.path,
    headers: row.request_headers as Headers, body: row.request_body as Buffer, workdir: row.workdir, home: row.home,
  };
}

function toResponse(row: Row): RecordedResponse {
  return {
    status: row.status, headers: row.response_headers as Headers, body: row.response_body as Buffer,
    chunkSizes: row.chunk_sizes, chunkOffsetsMs: row.chunk_offsets_ms, bytes: Number(row.response_bytes),
    truncated: row.truncated, complete: row.complete, stream: row.stream, error: row.error,
  };
}

export class PgRecordingStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertRecording(x: RecordedExchange): Promise<void> {
    await this.pool.query({ name: 'insert-gateway-recording', text: sql('insert-gateway-recording'), values: [x.taskId, x.cloneId,
      x.cloneName, x.attempt, x.seq, x.provider, x.method, x.path, JSON.stringify(x.headers), x.body, x.status,
      JSON.stringify(x.responseHeaders), x.responseBody, x.chunkSizes, x.chunkOffsetsMs, x.bytes, x.truncated, x.stream,
      x.workdir, x.home, x.startedAt, Math.round(x.durationMs), x.error, x.complete] });
  }

  /** Deletes everything recorded for a task (a replay of it then has nothing to answer from); the count deleted. */
  async deleteRecordings(taskId: string): Promise<number> {
    return (await this.pool.query(sql('delete-recordings'), [taskId])).rows[0].deleted;
  }

  /** The sequence number the clone's next exchange gets (0 for its first). */
  async nextRecordingSeq(taskId: string, cloneName: string): Promise<number> {
    return (await this.pool.query(sql('next-recording-seq'), [taskId, cloneName])).rows[0].next;
  }

  /** The recorded requests of one attempt of one clone, in order of arrival. */
  async recordedRequests(taskId: string, cloneName: string, attempt: number): Promise<RecordedRequest[]> {
    return (await this.pool.query(sql('select-recorded-requests'), [taskId, cloneName, attempt])).rows.map(toRequest);
  }

  async recordedResponse(id: string): Promise<RecordedResponse | null> {
    const row = (await this.pool.query(sql('select-recorded-response'), [id])).rows[0];
    return row ? toResponse(row) : null;
  }

  /** Everything recorded for a task, by clone name, attempt and order of arrival. */
  async listRecordings(taskId: string, limit = 10_000): Promise<StoredExchange[]> {
    return (await this.pool.query(sql('select-recordings'), [taskId, limit])).rows.map((row) => {
      const { id: _id, ...request } = toRequest(row);
      const { headers: responseHeaders, body: responseBody, ...response } = toResponse(row);
      return {
        id: String(row.id), taskId: row.task_id, cloneId: row.clone_id, cloneName: row.clone_name, attempt: row.attempt,
        ...request, ...response, responseHeaders, responseBody, startedAt: row.started_at, durationMs: row.duration_ms,
      };
    });
  }

  /** Exchanges recorded per clone name. */
  async countRecordings(taskId: string): Promise<Map<string, number>> {
    const rows = (await this.pool.query(sql('count-recordings'), [taskId])).rows;
    return new Map(rows.map((r) => [r.clone_name as string, r.exchanges as number]));
  }
}
