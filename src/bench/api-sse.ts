// SSE delivery latency: 100 subscribers on one task's progress stream; events appended through the server's
// own event log, one at a time at a steady pace, each timed from the moment it is stored (the event log's
// in-process notification, the same one that wakes the event hub) to its arrival at each subscriber.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runGit } from '../workspace/git.js';
import type { ApiBench } from './api.js';
import { wallClockMs } from './sse-subscribers.js';
import { round, summarize, type Summary } from './stats.js';

const SUBSCRIBERS = 100;
/** Events appended; the first `WARMUP_EVENTS` of them are not timed. */
const EVENTS = 220;
const WARMUP_EVENTS = 20;
const EVENT_INTERVAL_MS = 20;
const PROBE_EVENT = 'bench_probe';

export interface SseReport {
  subscribers: number;
  events: number;
  event_interval_ms: number;
  /** Stored (event log write returned) → received by a subscriber, over every subscriber and event. */
  stored_to_received_ms: Summary;
  /** Emitted (before the event log's write) → received: adds the insert. */
  emitted_to_received_ms: Summary;
}

/**
 * A task stored without a clone job: nothing runs it, so it stays pending and its stream stays open
 * until the benchmark cancels it.
 */
async function createIdleTask(bench: ApiBench): Promise<string> {
  const { kage } = bench.server;
  const baseCommit = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: bench.repo })).stdout.trim();
  const { task } = await kage.ctx.store.createTask({
    id: randomUUID(), description: 'api bench SSE probe', repo: bench.repo, baseRef: 'main', baseCommit, checkCommand: null,
    setupCommand: null, mergeStrategy: 'manual', maxRetries: 0, retryDelayMs: 1000, checkTimeoutMs: 60_000, createdBy: 'bench',
  }, []);
  return task.id;
}

export async function measureSse(bench: ApiBench, progress: (msg: string) => void): Promise<SseReport> {
  const { kage } = bench.server;
  const taskId = await createIdleTask(bench);
  progress(`api: SSE, ${SUBSCRIBERS} subscribers on one task, ${EVENTS - WARMUP_EVENTS} events one every ${EVENT_INTERVAL_MS} ms`);
  await bench.client.subscribe(`${bench.server.url}/api/v1/tasks/${taskId}/progress`, bench.headers, SUBSCRIBERS, PROBE_EVENT);
  const stored = new Map<string, { seq: number; emittedAt: number; storedAt: number }>();
  const stopListening = kage.ctx.events.onStored((events) => {
    const storedAt = wallClockMs();
    for (const e of events) {
      if (e.type === PROBE_EVENT) stored.set(e.id, { seq: Number(e.payload.seq), emittedAt: Number(e.payload.emitted_at), storedAt });
    }
  });
  try {
    for (let seq = 0; seq < EVENTS; seq++) {
      kage.ctx.events.emit(taskId, null, PROBE_EVENT, { seq, emitted_at: wallClockMs() });
      // As the code paths that want their events seen at once do; otherwise the log waits for its batch.
      void kage.ctx.events.flush();
      await sleep(EVENT_INTERVAL_MS);
    }
    const receipts = await bench.client.receipts(EVENTS, 30_000);
    const fromStored: number[] = [];
    const fromEmitted: number[] = [];
    for (const subscriber of receipts) {
      for (const [id, receivedAt] of subscriber) {
        const e = stored.get(id);
        if (!e || e.seq < WARMUP_EVENTS) continue;
        fromStored.push(receivedAt - e.storedAt);
        fromEmitted.push(receivedAt - e.emittedAt);
      }
    }
    const report = {
      subscribers: SUBSCRIBERS,
      events: EVENTS - WARMUP_EVENTS,
      event_interval_ms: EVENT_INTERVAL_MS,
      stored_to_received_ms: summarize(fromStored, 2),
      emitted_to_received_ms: summarize(fromEmitted, 2),
    };
    progress(`api: SSE stored → received p50 ${report.stored_to_received_ms.p50} ms, p99 ${report.stored_to_received_ms.p99} ms ` +
      `(${round(fromStored.length / SUBSCRIBERS, 0)} events per subscriber)`);
    return report;
  } finally {
    stopListening();
    await kage.tasks.cancelTask(taskId, 'benchmark finished').catch(() => undefined);
    await bench.client.unsubscribe();
  }
}
