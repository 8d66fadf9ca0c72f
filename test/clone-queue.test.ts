// The clone queue on a real PostgreSQL: jobs survive a worker stopping while its fetch is in flight.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CloneQueue, type CloneJob } from '../src/queue/clone-queue.js';
import { freshDatabase, waitFor } from './support/harness.js';

const queues: CloneQueue[] = [];

afterAll(async () => {
  for (const queue of queues) await queue.stop();
});

async function openQueue(url: string): Promise<CloneQueue> {
  const queue = new CloneQueue(url);
  queues.push(queue);
  await queue.start();
  return queue;
}

function job(): CloneJob {
  return { taskId: randomUUID(), cloneId: randomUUID(), attempt: 0 };
}

describe('clone queue', () => {
  it('starts in several processes at once on a new database', async () => {
    for (let round = 0; round < 3; round++) {
      const url = await freshDatabase();
      const started = await Promise.allSettled(Array.from({ length: 6 }, () => openQueue(url)));
      expect(started.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const [first] = started as PromiseFulfilledResult<CloneQueue>[];
      await first!.value.enqueue(job(), { expireInSeconds: 60 });
      expect(await first!.value.depth()).toBe(1);
    }
  });

  it('runs every job exactly once when a worker stops while jobs arrive, and none after it stopped', async () => {
    const url = await freshDatabase();
    const ran = new Map<string, string[]>();
    const lateStarts: string[] = [];
    const record = (who: string, j: CloneJob): void => {
      ran.set(j.cloneId, [...(ran.get(j.cloneId) ?? []), who]);
    };
    const sent: string[] = [];

    // Each round: a worker is busy fetching as jobs arrive, then stops; a second worker must get what it left.
    for (let round = 0; round < 8; round++) {
      const first = await openQueue(url);
      let stopped = false;
      await first.work(2, async (j) => {
        if (stopped) lateStarts.push(j.cloneId);
        record('first', j);
      });
      const jobs = [job(), job(), job()];
      sent.push(...jobs.map((j) => j.cloneId));
      const enqueued = first.enqueueMany(jobs.map((j) => ({ job: j, expireInSeconds: 60 })));
      await new Promise((r) => setTimeout(r, round * 3));
      await first.stopWorking();
      stopped = true;
      await enqueued;
      await first.stop();
    }

    const second = await openQueue(url);
    await second.work(2, async (j) => record('second', j));
    await waitFor('every job to run', async () => (sent.every((id) => ran.has(id)) ? true : undefined));
    await second.stopWorking();

    expect(lateStarts).toEqual([]);
    expect(sent.filter((id) => ran.get(id)!.length !== 1)).toEqual([]);
    expect(await second.depth()).toBe(0);
  });
});
