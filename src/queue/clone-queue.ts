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

/** One `work` call's jobs: a single fetch loop that asks for as many jobs as it has free slots. */
interface Lane {
  concurrency: number;
  /** Jobs of this lane being handled now. */
  active: number;
  /** The fetch in flight, if any. */
  fetching: Promise<PgBoss.Job<CloneJob>[]> | null;
  /** Ends the wait for a job or a free slot early. */
  wake: (() => void) | null;
  /** Set when woken while fetching: a job queued meanwhile may have been missed, so fetch again at once. */
  notified: boolean;
}

export class CloneQueue {
  private readonly boss: PgBoss;
  private readonly lanes: Lane[] = [];
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
    await this.ensureQueue();
    this.started = true;
  }

  /**
   * Creates the clone queue unless it exists. Two processes starting at once on a new database both find it
   * missing, and pg-boss's creation (a partition and a row) can deadlock between them: the loser asks again.
   */
  private async ensureQueue(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (await this.boss.getQueue(CLONE_QUEUE)) return;
      try {
        await this.boss.createQueue(CLONE_QUEUE);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // deadlock, serialization failure, unique or duplicate table: another process is creating it.
        if (attempt >= 5 || !['40P01', '40001', '23505', '42P07'].includes(code ?? '')) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt + Math.random() * 20));
      }
    }
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
   * Runs up to `concurrency` clone jobs at once in this process. One loop fetches as many jobs as there are
   * free slots in one query (parallel fetches of one job each would contend for the same rows). The loop is
   * kage's own (not `boss.work`) so that stopping can wait for a fetch in flight: jobs fetched after
   * `stopWorking` began are handed back to the queue instead of starting here.
   */
  async work(concurrency: number, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    this.stopping = false;
    const lane: Lane = { concurrency, active: 0, fetching: null, wake: null, notified: false };
    this.lanes.push(lane);
    void this.loop(lane, handler);
  }

  private async loop(lane: Lane, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    while (!this.stopping) {
      const free = lane.concurrency - lane.active;
      if (free <= 0) {
        // Woken when a job of this lane ends.
        await this.idle(lane, null);
        continue;
      }
      lane.notified = false;
      lane.fetching = this.fetchSome(free);
      const jobs = await lane.fetching;
      lane.fetching = null;
      // Each handler's synchronous start runs before `stopWorking` resumes from awaiting this fetch, so
      // whoever counts running jobs in the handler already sees these.
      for (const job of jobs) {
        lane.active++;
        void this.run(job, handler).finally(() => {
          lane.active--;
          lane.wake?.();
        });
      }
      // Fewer jobs than free slots: the queue is empty for now.
      if (jobs.length < free && !this.stopping && !lane.notified) await this.idle(lane, POLL_MS);
    }
  }

  private async run(job: PgBoss.Job<CloneJob>, handler: (job: CloneJob) => Promise<void>): Promise<void> {
    try {
      await handler(job.data);
      await this.boss.complete(CLONE_QUEUE, job.id).catch(() => undefined);
    } catch (err) {
      await this.boss.fail(CLONE_QUEUE, job.id, { message: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    }
  }

  /** Fetches up to `count` jobs; those fetched after stopping began are handed back and not returned. */
  private async fetchSome(count: number): Promise<PgBoss.Job<CloneJob>[]> {
    const jobs = await this.boss.fetch<CloneJob>(CLONE_QUEUE, { batchSize: count }).catch(() => []);
    if (jobs.length > 0 && this.stopping) {
      await Promise.all(jobs.map((job) => this.handBack(job.id).catch(() => undefined)));
      return [];
    }
    return jobs;
  }

  /** Waits until woken, or `timeoutMs` (null: no timeout). */
  private idle(lane: Lane, timeoutMs: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === null ? null : setTimeout(done, timeoutMs);
      function done(): void {
        if (timer !== null) clearTimeout(timer);
        lane.wake = null;
        resolve();
      }
      lane.wake = done;
    });
  }

  /** Puts a job this process fetched but will not run back in the queue for another worker. */
  private async handBack(id: string): Promise<void> {
    await this.boss.fail(CLONE_QUEUE, id, { message: 'worker stopping' });
    await this.boss.retry(CLONE_QUEUE, id);
  }

  /** Wakes idle local workers now instead of at their next poll. */
  wake(): void {
    for (const lane of this.lanes) {
      lane.notified = true;
      lane.wake?.();
    }
  }

  /**
   * Stops fetching new jobs and waits for fetches in flight (a job they return is handed back); jobs being
   * handled run on, and enqueueing still works.
   */
  async stopWorking(): Promise<void> {
    if (this.lanes.length === 0) return;
    this.stopping = true;
    const lanes = this.lanes.splice(0);
    for (const lane of lanes) lane.wake?.();
    await Promise.all(lanes.map((lane) => lane.fetching));
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
