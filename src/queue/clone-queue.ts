// The clone job queue: pg-boss on the same PostgreSQL, one job per clone attempt.
import PgBoss from 'pg-boss';

export const CLONE_QUEUE = 'kage-clone';

export interface CloneJob {
  taskId: string;
  cloneId: string;
  /** Attempt number the job is for; a stale job (attempt already moved on) is ignored by the runner. */
  attempt: number;
}

export class CloneQueue {
  private readonly boss: PgBoss;
  private readonly workerIds: string[] = [];
  private started = false;

  constructor(connectionString: string) {
    this.boss = new PgBoss({
      connectionString,
      schema: 'pgboss',
      max: 4,
      // Job retries are decided by kage (only transient failures, with its own backoff), never by pg-boss.
      retryLimit: 0,
      // Finished job rows are not needed once the clone record holds the outcome.
      deleteAfterHours: 1,
      archiveCompletedAfterSeconds: 60,
    });
    this.boss.on('error', () => undefined);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    await this.boss.createQueue(CLONE_QUEUE);
    this.started = true;
  }

  async enqueue(job: CloneJob, opts: { delayMs?: number; expireInSeconds: number }): Promise<void> {
    await this.boss.send(CLONE_QUEUE, job, {
      retryLimit: 0,
      expireInSeconds: Math.max(60, Math.ceil(opts.expireInSeconds)),
      ...(opts.delayMs && opts.delayMs > 0 ? { startAfter: new Date(Date.now() + opts.delayMs) } : {}),
    });
    this.wake();
  }

  /** Queues several jobs in one statement (a new task's clones). */
  async enqueueMany(jobs: { job: CloneJob; expireInSeconds: number }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.boss.insert(jobs.map(({ job, expireInSeconds }) => ({
      name: CLONE_QUEUE,
      data: job,
      retryLimit: 0,
      expireInSeconds: Math.max(60, Math.ceil(expireInSeconds)),
    })));
    this.wake();
  }

  /** Starts `concurrency` in-process workers; each runs one clone job at a time. */
  async work(concurrency: number, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    for (let i = 0; i < concurrency; i++) {
      const id = await this.boss.work<CloneJob>(CLONE_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) await handler(job.data);
      });
      this.workerIds.push(id);
    }
  }

  /** Wakes idle local workers now instead of at their next poll (pg-boss polls at most every 0.5 s). */
  wake(): void {
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  /** Stops fetching new jobs; jobs being handled run on, and enqueueing still works. */
  async stopWorking(): Promise<void> {
    if (this.workerIds.length === 0) return;
    this.workerIds.length = 0;
    await this.boss.offWork(CLONE_QUEUE);
  }

  async depth(): Promise<number> {
    return this.boss.getQueueSize(CLONE_QUEUE);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: false, wait: true, close: true });
  }
}
