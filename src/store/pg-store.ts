// The PostgreSQL store: tasks, clones, events and workers, with LISTEN/NOTIFY for cross-process wake-ups.
import pg from 'pg';
import { inTransaction } from './transaction.js';
import type { CloneRecord, CloneStatus, EventRecord, TaskRecord, TaskStatus } from '../domain/index.js';
import { KageError } from '../domain/index.js';
import { sql } from './sql.js';
import { migrate } from './migrate.js';
import { cloneAssignments, cloneFromJson, taskAssignments, toClone, toEvent, toTask, type ClonePatch, type TaskPatch } from './rows.js';

export type { ClonePatch, TaskPatch } from './rows.js';

export interface NewEvent {
  taskId: string;
  cloneId: string | null;
  type: string;
  payload: Record<string, unknown>;
}

export type NewClone = Pick<CloneRecord, 'id' | 'name' | 'agent' | 'model' | 'options' | 'branch' | 'timeoutMs'>;

export type NewTask = Pick<TaskRecord, 'id' | 'description' | 'repo' | 'baseRef' | 'baseCommit' | 'checkCommand' |
  'setupCommand' | 'mergeStrategy' | 'maxRetries' | 'retryDelayMs' | 'checkTimeoutMs' | 'createdBy'> &
  Partial<Pick<TaskRecord, 'tokenBudget' | 'usdBudget' | 'record' | 'replayOf'>>;

export interface WorkerRow {
  id: string;
  hostname: string;
  pid: number;
  heartbeatAgeMs: number;
}

export interface AgentStats {
  agent: string;
  clones: number;
  succeeded: number;
  running: number;
  tokens: number;
  costUsd: number;
}

/** How many of one agent's clones ended in one terminal status. */
export interface CloneOutcome {
  agent: string;
  status: CloneStatus;
  clones: number;
}

export type ActiveClone = CloneRecord & { taskStatus: TaskStatus };

export class PgStore {
  readonly pool: pg.Pool;
  private listener: pg.Client | null = null;
  private eventClient: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;

  constructor(readonly url: string, poolSize = 10) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<string[]> {
    try {
      return await migrate(this.pool);
    } catch (err) {
      throw new KageError('KAGE_STORE_UNAVAILABLE', `Cannot prepare the store: ${(err as Error).message}`, { cause: err });
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Connections to this database held by every client, not only this process. */
  async countDatabaseConnections(): Promise<number> {
    return (await this.pool.query(sql('count-db-connections'))).rows[0].n;
  }

  async createTask(task: NewTask, clones: NewClone[]): Promise<{ task: TaskRecord; clones: CloneRecord[] }> {
    // One statement is its own transaction: task and clones are stored together or not at all.
    const r = await this.pool.query({ name: 'insert-task', text: sql('insert-task'), values: [task.id, task.description,
      task.repo, task.baseRef, task.baseCommit, task.checkCommand, task.setupCommand, task.mergeStrategy, task.maxRetries,
      task.retryDelayMs, task.checkTimeoutMs, task.createdBy, task.tokenBudget ?? null,
      clones.map((x) => x.id), clones.map((x) => x.name), clones.map((x) => x.agent), clones.map((x) => x.model),
      clones.map((x) => JSON.stringify(x.options)), clones.map((x) => x.branch), clones.map((x) => x.timeoutMs),
      task.record ?? false, task.replayOf ?? null, task.usdBudget ?? null] });
    const { clone_rows: cloneRows, ...taskRow } = r.rows[0];
    // json_agg of no rows is null.
    const byId = new Map(((cloneRows ?? []) as Record<string, unknown>[]).map((row) => [row.id as string, cloneFromJson(row)]));
    return { task: toTask(taskRow), clones: clones.map((x) => byId.get(x.id)!) };
  }

  async getTask(id: string): Promise<TaskRecord | null> {
    const r = await this.pool.query(sql('select-task'), [id]);
    return r.rows[0] ? toTask(r.rows[0]) : null;
  }

  /** Tasks whose id starts with `prefix` (at most two: enough to tell unique from ambiguous). */
  async findTasksByPrefix(prefix: string): Promise<TaskRecord[]> {
    const r = await this.pool.query(sql('select-tasks-by-prefix'), [prefix.toLowerCase()]);
    return r.rows.map(toTask);
  }

  /** Newest first; `status` filters by one status or any of several. */
  async listTasks(opts: { status?: TaskStatus | readonly TaskStatus[] | null; limit: number; offset: number }): Promise<{ tasks: TaskRecord[]; total: number }> {
    const statuses = opts.status == null ? null : typeof opts.status === 'string' ? [opts.status] : [...opts.status];
    const [rows, count] = await Promise.all([
      this.pool.query(sql('list-tasks'), [statuses, opts.limit, opts.offset]),
      this.pool.query(sql('count-tasks'), [statuses]),
    ]);
    return { tasks: rows.rows.map(toTask), total: count.rows[0].n };
  }

  async getClones(taskId: string): Promise<CloneRecord[]> {
    return (await this.pool.query(sql('select-clones'), [taskId])).rows.map(toClone);
  }

  /** The clones of several tasks, grouped by task id (one query for a page of tasks). */
  async getClonesOfTasks(taskIds: readonly string[]): Promise<Map<string, CloneRecord[]>> {
    const byTask = new Map<string, CloneRecord[]>(taskIds.map((id) => [id, []]));
    if (taskIds.length === 0) return byTask;
    for (const row of (await this.pool.query(sql('select-clones-of-tasks'), [taskIds])).rows) {
      const clone = toClone(row);
      byTask.get(clone.taskId)?.push(clone);
    }
    return byTask;
  }

  async countTasksByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    const r = await this.pool.query(sql('count-tasks-by-status'));
    return Object.fromEntries(r.rows.map((row) => [row.status, row.n]));
  }

  /** Clones waiting for a worker, queued or retrying. */
  async countWaitingClones(): Promise<number> {
    return (await this.pool.query(sql('count-waiting-clones'))).rows[0].n;
  }

  async getClone(id: string): Promise<CloneRecord | null> {
    const r = await this.pool.query(sql('select-clone'), [id]);
    return r.rows[0] ? toClone(r.rows[0]) : null;
  }

  async claimClone(cloneId: string, attempt: number, workerId: string): Promise<CloneRecord | null> {
    const r = await this.pool.query(sql('claim-clone'), [cloneId, attempt, workerId]);
    return r.rows[0] ? toClone(r.rows[0]) : null;
  }

  /** Applies a patch; with `onlyIf`, only while the clone is in one of those states. True when a row changed. */
  async updateClone(id: string, patch: ClonePatch, onlyIf?: readonly CloneStatus[]): Promise<boolean> {
    return this.update('clones', id, cloneAssignments(patch), onlyIf);
  }

  async updateTask(id: string, patch: TaskPatch, onlyIf?: readonly TaskStatus[]): Promise<boolean> {
    return this.update('tasks', id, taskAssignments(patch), onlyIf);
  }

  private async update(table: 'clones' | 'tasks', id: string, sets: [string, unknown][], onlyIf?: readonly string[]): Promise<boolean> {
    if (sets.length === 0) return true;
    const values: unknown[] = [id];
    const assignments = sets.map(([column, value]) => {
      values.push(value);
      return `${column} = $${values.length}`;
    });
    let where = 'id = $1';
    if (onlyIf) {
      values.push(onlyIf);
      where += ` and status = any($${values.length}::text[])`;
    }
    const r = await this.pool.query(`update ${table} set ${assignments.join(', ')}, updated_at = now() where ${where}`, values);
    return (r.rowCount ?? 0) > 0;
  }

  /** Stores the judge's ranking of every clone in one statement. */
  async saveRanking(taskId: string, ranking: { name: string; rank: number; score: number; reason: string }[]): Promise<void> {
    await this.pool.query(sql('update-ranking'), [taskId, ranking.map((r) => r.name), ranking.map((r) => r.rank),
      ranking.map((r) => r.score), ranking.map((r) => r.reason)]);
  }

  /** Marks a running task pending again when none of its clones runs (after a worker handed them back). */
  async releaseTask(taskId: string): Promise<void> {
    await this.pool.query(sql('release-task'), [taskId]);
  }

  /** Moves the task to judging when every clone is terminal; returns it only to the one caller that did. */
  async beginJudging(taskId: string): Promise<TaskRecord | null> {
    const r = await this.pool.query(sql('begin-judging'), [taskId]);
    return r.rows[0] ? toTask(r.rows[0]) : null;
  }

  async cancelTask(taskId: string, reason: string): Promise<{ task: TaskRecord; clones: CloneRecord[] } | null> {
    return this.tx(async (c) => {
      const t = await c.query(sql('cancel-task'), [taskId, reason]);
      if (!t.rows[0]) return null;
      const clones = await c.query(sql('cancel-clones'), [taskId]);
      return { task: toTask(t.rows[0]), clones: clones.rows.map(toClone) };
    });
  }

  async appendEvents(events: NewEvent[]): Promise<EventRecord[]> {
    if (events.length === 0) return [];
    const client = await this.eventWriter();
    const r = await client.query(sql('append-events'), [
      events.map((e) => e.taskId),
      events.map((e) => e.cloneId),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.payload)),
    ]);
    return r.rows.map((row, i) => ({ ...events[i]!, id: String(row.id), createdAt: row.created_at }));
  }

  /**
   * One connection for event writes, with asynchronous commit: progress events may be lost if the server
   * itself crashes in the next few hundred milliseconds, while task and clone state, which recovery relies
   * on, stays fully durable on the pool's connections.
   */
  private eventWriter(): Promise<pg.Client> {
    this.eventClient ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', () => {
        this.eventClient = null;
      });
      await client.connect();
      await client.query('set synchronous_commit = off');
      return client;
    })().catch((err) => {
      this.eventClient = null;
      throw err;
    });
    return this.eventClient;
  }

  async listEvents(taskId: string, afterId = '0', limit = 1000): Promise<EventRecord[]> {
    return (await this.pool.query(sql('list-events'), [taskId, afterId, limit])).rows.map(toEvent);
  }

  async listCloneEvents(taskId: string, cloneId: string, afterId = '0', limit = 1000): Promise<EventRecord[]> {
    return (await this.pool.query(sql('list-clone-events'), [taskId, cloneId, afterId, limit])).rows.map(toEvent);
  }

  /** Hashes (and prefixes) of the generated API keys. */
  async apiKeys(): Promise<{ hash: string; prefix: string }[]> {
    return (await this.pool.query(sql('select-api-keys'))).rows.map((r) => ({ hash: r.hash, prefix: r.prefix }));
  }

  async addApiKey(hash: string, prefix: string): Promise<void> {
    await this.pool.query(sql('insert-api-key'), [hash, prefix]);
  }

  /** The stored value of a server setting, storing `value` first when there is none; every process gets the same one. */
  async ensureServerSetting(name: string, value: string): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // A concurrent first insert can leave this statement's snapshot without either row; the next one sees it.
      const row = (await this.pool.query(sql('ensure-server-setting'), [name, value])).rows[0];
      if (row) return row.value as string;
    }
    throw new KageError('KAGE_STORE_UNAVAILABLE', `Cannot read or store the server setting ${name}`);
  }

  async upsertWorker(id: string, hostname: string, pid: number): Promise<void> {
    await this.pool.query(sql('upsert-worker'), [id, hostname, pid]);
  }

  async deleteWorker(id: string): Promise<void> {
    await this.pool.query(sql('delete-worker'), [id]);
  }

  async listWorkers(): Promise<WorkerRow[]> {
    const r = await this.pool.query(sql('select-workers'));
    return r.rows.map((w) => ({ id: w.id, hostname: w.hostname, pid: w.pid, heartbeatAgeMs: Number(w.heartbeat_age_ms) }));
  }

  async activeClones(): Promise<ActiveClone[]> {
    const r = await this.pool.query(sql('select-active-clones'));
    return r.rows.map((row) => ({ ...toClone(row), taskStatus: row.task_status }));
  }

  async unfinishedTasks(): Promise<TaskRecord[]> {
    return (await this.pool.query(sql('select-unfinished-tasks'))).rows.map(toTask);
  }

  async agentStats(): Promise<AgentStats[]> {
    const r = await this.pool.query(sql('task-stats'));
    return r.rows.map((s) => ({ agent: s.agent, clones: s.clones, succeeded: s.succeeded, running: s.running,
      tokens: Number(s.tokens), costUsd: Number(s.cost_usd) }));
  }

  async cloneOutcomes(): Promise<CloneOutcome[]> {
    const r = await this.pool.query(sql('clone-outcomes'));
    return r.rows.map((o) => ({ agent: o.agent, status: o.status, clones: o.clones }));
  }

  /** Runs `fn` holding a session-level advisory lock, waiting for it when another process holds it. */
  async withLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    return (await this.holdLock(key, true, fn)) as T;
  }

  /** Runs `fn` holding a session-level advisory lock; null when another process holds it. */
  async withTryLock<T>(key: number, fn: () => Promise<T>): Promise<T | null> {
    return this.holdLock(key, false, fn);
  }

  private async holdLock<T>(key: number, wait: boolean, fn: () => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect();
    try {
      if (wait) await client.query('select pg_advisory_lock($1)', [key]);
      else if (!(await client.query('select pg_try_advisory_lock($1) as ok', [key])).rows[0].ok) return null;
      try {
        return await fn();
      } finally {
        await client.query('select pg_advisory_unlock($1)', [key]);
      }
    } finally {
      client.release();
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [channel, payload]);
  }

  /** Subscribes to a NOTIFY channel on one shared connection. Notifications are hints: callers re-read tables. */
  async listen(channel: string, handler: (payload: string) => void): Promise<() => void> {
    if (!this.listener) {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', () => undefined);
      client.on('notification', (n) => {
        for (const h of this.handlers.get(n.channel) ?? []) h(n.payload ?? '');
      });
      await client.connect();
      this.listener = client;
    }
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.listener.query(`listen ${pg.escapeIdentifier(channel)}`);
    }
    set.add(handler);
    return () => set!.delete(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.listener) await this.listener.end().catch(() => undefined);
    if (this.eventClient) await (await this.eventClient.catch(() => null))?.end().catch(() => undefined);
    await this.pool.end();
  }

  private tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

}
