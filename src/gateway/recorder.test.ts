import { describe, expect, it } from 'vitest';
import type { FlightGrant } from '../domain/index.js';
import { createExchangeTap, createSequencer, type RecordingStore } from './recorder.js';
import { REDACTED } from './redact.js';

const flight: FlightGrant = { mode: 'record', cloneName: 'claude-code', attempt: 0, workdir: '/w', home: '/h', sourceTaskId: null };

function tap(maxBytes: number) {
  return createExchangeTap({ grant: { taskId: 't', cloneId: 'c', flight }, flight, seq: 3, provider: 'anthropic', method: 'POST',
    path: '/v1/messages', headers: { 'x-api-key': 'kgw_token', 'content-type': 'application/json' }, body: Buffer.from('{}'),
    startedAt: new Date(0), started: 0 }, maxBytes);
}

describe('flight recorder tap', () => {
  it('keeps the answer\'s chunks as they passed, with their sizes and times, and the request without its key', () => {
    const t = tap(1024);
    t.response(200, { 'content-type': 'text/event-stream', 'set-cookie': 'a=b' });
    for (const part of ['event: a\n', 'data: {}\n\n', 'event: b\ndata: {}\n\n']) t.chunk(Buffer.from(part));
    const x = t.exchange({ stream: true, complete: true, error: null });
    expect(x.responseBody.toString()).toBe('event: a\ndata: {}\n\nevent: b\ndata: {}\n\n');
    expect(x.chunkSizes).toEqual([9, 10, 19]);
    expect(x.chunkOffsetsMs).toHaveLength(3);
    expect(x.chunkOffsetsMs[2]!).toBeGreaterThanOrEqual(x.chunkOffsetsMs[0]!);
    expect(x).toMatchObject({ taskId: 't', cloneId: 'c', cloneName: 'claude-code', attempt: 0, seq: 3, status: 200, bytes: 38,
      truncated: false, complete: true, stream: true, workdir: '/w', home: '/h' });
    expect(x.headers['x-api-key']).toBe(REDACTED);
    expect(x.responseHeaders['set-cookie']).toBe(REDACTED);
    expect(JSON.stringify(x)).not.toContain('kgw_token');
  });

  it('stops keeping an answer at the cap, counts the rest and marks the exchange truncated', () => {
    const t = tap(10);
    t.response(200, {});
    for (const part of ['123456', '7890ab', 'cdef']) t.chunk(Buffer.from(part));
    const x = t.exchange({ stream: false, complete: true, error: null });
    expect(x.responseBody.toString()).toBe('1234567890');
    expect(x.chunkSizes).toEqual([6, 4]);
    expect(x).toMatchObject({ bytes: 16, truncated: true });
  });

  it('numbers a clone\'s exchanges in order of arrival, after those the store already holds', async () => {
    const store: RecordingStore = { insertRecording: async () => undefined, nextRecordingSeq: async (_t, name) => (name === 'a' ? 5 : 0) };
    const seq = createSequencer(store);
    expect(await Promise.all([seq.next('t', 'a'), seq.next('t', 'a'), seq.next('t', 'b'), seq.next('t', 'a')])).toEqual([5, 6, 0, 7]);
  });
});
