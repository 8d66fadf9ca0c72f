// The clone job queue: pg-boss on the same PostgreSQL, one job per clone attempt.
import PgBoss from 'pg-boss';

export const CLONE_QUEUE = 'kage-clone';

export interface CloneJob {
  taskId: string;
  cloneId: string;
  /** Attempt number the job is for; a stale job (attempt already moved on) is ignored by the runner. */
  attempt: number;
}

/** How often an idle worker asks for a job when nothing woke it. */
const POLL_MS = 500;

interface LocalWorker {
  /** The fetch in flight, if any. */
  fetching: Promise<PgBoss.Job<CloneJob> | null> | null;
  /** Ends the idle wait early. */
  wake: (() => void) | null;
  /** Set when woken while fetching: a job queued meanwhile may have been missed, so fetch again at once. */
  notified: boolean;
}

export class CloneQueue {
  private readonly boss: PgBoss;
  private readonly workers: LocalWorker[] = [];
  private stopping = false;
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

  /**
   * Starts `concurrency` in-process workers; each fetches one clone job at a time and runs it. The loops are
   * kage's own (not `boss.work`) so that stopping can wait for fetches in flight: a job fetched after
   * `stopWorking` began is handed back to the queue instead of starting here.
   */
  async work(concurrency: number, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    this.stopping = false;
    for (let i = 0; i < concurrency; i++) {
      const worker: LocalWorker = { fetching: null, wake: null, notified: false };
      this.workers.push(worker);
      void this.loop(worker, handler);
    }
  }

  private async loop(worker: LocalWorker, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    while (!this.stopping) {
      worker.notified = false;
      worker.fetching = this.fetchOne();
      const job = await worker.fetching;
      worker.fetching = null;
      if (!job) {
        if (!this.stopping && !worker.notified) await this.idle(worker);
        continue;
      }
      // The handler's synchronous start runs before `stopWorking` resumes from awaiting this fetch, so
      // whoever counts running jobs in the handler already sees this one.
      try {
        await handler(job.data);
        await this.boss.complete(CLONE_QUEUE, job.id).catch(() => undefined);
      } catch (err) {
        await this.boss.fail(CLONE_QUEUE, job.id, { message: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
      }
    }
  }

  /** Fetches one job; one fetched after stopping began is handed back and not returned. */
  private async fetchOne(): Promise<PgBoss.Job<CloneJob> | null> {
    const [job] = await this.boss.fetch<CloneJob>(CLONE_QUEUE, { batchSize: 1 }).catch(() => []);
    if (job && this.stopping) {
      await this.handBack(job.id).catch(() => undefined);
      return null;
    }
    return job ?? null;
  }

  private idle(worker: LocalWorker): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      function done(): void {
        clearTimeout(timer);
        worker.wake = null;
        resolve();
      }
      worker.wake = done;
    });
  }

  /** Puts a job this process fetched but will not run back in the queue for another worker. */
  private async handBack(id: string): Promise<void> {
    await this.boss.fail(CLONE_QUEUE, id, { message: 'worker stopping' });
    await this.boss.retry(CLONE_QUEUE, id);
  }

  /** Wakes idle local workers now instead of at their next poll. */
  wake(): void {
    for (const worker of this.workers) {
      worker.notified = true;
      worker.wake?.();
    }
  }

  /**
   * Stops fetching new jobs and waits for fetches in flight (a job they return is handed back); jobs being
   * handled run on, and enqueueing still works.
   */
  async stopWorking(): Promise<void> {
    if (this.workers.length === 0) return;
    this.stopping = true;
    const workers = this.workers.splice(0);
    for (const worker of workers) worker.wake?.();
    await Promise.all(workers.map((w) => w.fetching));
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
