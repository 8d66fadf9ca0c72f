// The API half of `npm run bench`: a real server (`startServer`: HTTP API, event hub and workers running the
// fake agent on a scratch repository) in this process, driven over keep-alive HTTP by a client in a child
// process, so the load generator never competes with the server for its event loop. Measures submissions
// and task reads at concurrency 1 and 16, SSE delivery to 100 subscribers, and this process's RSS across
// many submitted tasks. Every phase starts with the workers idle: the previous phase's tasks have finished.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config/config.js';
import { startServer, type KageServer } from '../main/server.js';
import { measureApiMemory, type ApiMemoryReport } from './api-memory.js';
import { measureSse, type SseReport } from './api-sse.js';
import { startClientProcess, type ClientProcess } from './client-process.js';
import type { LoadRequest, LoadResult } from './http-load.js';
import { createBenchRepo, TASK_FILE } from './repos.js';
import { round, summarize, type Summary } from './stats.js';
import { trackTaskFinishes, type TaskFinishes } from './task-finishes.js';

export const API_TARGETS = { submissions_per_s_c16_min: 250, sse_p99_ms_max: 25, rss_growth_mb_max: 5 };

/** Clone jobs the server runs at once. */
const WORKERS = 8;
export const CONCURRENCIES = [1, 16] as const;
/** Untimed requests before each measured series: connections, JIT and statement caches. */
const WARMUP_REQUESTS = 50;
/** Time allowed per submitted task for the queue to drain between phases. */
const DRAIN_MS_PER_TASK = 2000;

export interface ApiBenchOptions {
  tmp: string;
  /** Any database on the benchmark's server; the API half creates its own next to it. */
  databaseUrl: string;
  /** Requests per measured series (submissions, reads). */
  requests: number;
  /** Tasks submitted for the memory measurement. */
  memoryTasks: number;
  progress: (msg: string) => void;
}

export interface LoadReport {
  concurrency: number;
  requests_per_s: number;
  latency_ms: Summary;
  statuses: Record<string, number>;
  first_error: string | null;
}

export interface ApiReport {
  /** The server runs in the benchmark's own process; the client in a child. */
  server_pid: number;
  client_pid: number;
  client: string;
  workers: number;
  requests_per_series: number;
  submit: (LoadReport & { drain_seconds: number })[];
  get_task: LoadReport[];
  sse: SseReport;
  memory: ApiMemoryReport;
  task_statuses: Record<string, number>;
  /** The first tasks that did not complete, with what went wrong. */
  unsuccessful_tasks: { id: string; status: string; error: string | null; clones: { name: string; status: string; error: string | null }[] }[];
}

export interface ApiBench {
  server: KageServer;
  client: ClientProcess;
  finishes: TaskFinishes;
  headers: Record<string, string>;
  repo: string;
  /** Submits `count` tasks at `concurrency`; the result keeps response bodies when asked. */
  submit(count: number, concurrency: number, keepBodies?: boolean): Promise<LoadResult>;
  /** Waits until every task submitted so far has finished. */
  drain(): Promise<void>;
}

export function loadReport(concurrency: number, result: LoadResult): LoadReport {
  return {
    concurrency,
    requests_per_s: round(result.latenciesMs.length / (result.elapsedMs / 1000)),
    latency_ms: summarize(result.latenciesMs, 2),
    statuses: result.statuses,
    first_error: result.firstError,
  };
}

/** A fresh database on the same server, so a part measures the same thing whether another part ran before it or not. */
export async function createDatabase(url: string, prefix = 'kage_api_bench'): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

async function startBench(opts: ApiBenchOptions): Promise<ApiBench> {
  const repo = await createBenchRepo(join(opts.tmp, 'repos', 'api'));
  const key = `bench_${randomBytes(16).toString('hex')}`;
  // A controlled environment: no KAGE_* variables of the caller's shell change what is measured. The rate
  // limit and the queue limit are raised so that they never answer instead of the code being measured.
  const config = loadConfig(
    { home: join(opts.tmp, 'api-home'), databaseUrl: await createDatabase(opts.databaseUrl), logLevel: 'silent',
      host: '127.0.0.1', port: 0, concurrency: WORKERS, repo },
    { PATH: process.env.PATH ?? '/usr/bin:/bin', KAGE_API_KEYS: key, KAGE_RATE_LIMIT: '1000000',
      KAGE_MAX_QUEUED: '1000000', KAGE_MAX_RETRIES: '0' },
  );
  const server = await startServer(config);
  const finishes = trackTaskFinishes(server.kage);
  const client = await startClientProcess().catch(async (err: unknown) => {
    finishes.stop();
    await server.close({ graceMs: 0 });
    throw err;
  });
  const headers = { 'x-api-key': key };
  let submitted = 0;
  let seq = 0;
  const body = (): LoadRequest['body'] => {
    seq++;
    return {
      description: `api bench task ${seq}`,
      repo,
      max_retries: 0,
      cli_assignments: [{ cli_name: 'fake', context: { behaviour: 'ok', file: TASK_FILE, content: `api task ${seq}\n` } }],
    };
  };
  return {
    server,
    client,
    finishes,
    headers,
    repo,
    async submit(count, concurrency, keepBodies = false) {
      const requests = Array.from({ length: count }, (): LoadRequest => ({ method: 'POST', path: '/api/v1/tasks', body: body() }));
      const result = await client.load({ url: server.url, headers, concurrency, requests, keepBodies });
      submitted += result.statuses['201'] ?? 0;
      return result;
    },
    async drain() {
      await finishes.until(submitted, Math.max(60_000, submitted * DRAIN_MS_PER_TASK));
      await server.kage.runtime.idle(30_000);
    },
  };
}

async function measureSubmissions(bench: ApiBench, requests: number, progress: (msg: string) => void) {
  const reports: (LoadReport & { drain_seconds: number })[] = [];
  const ids: string[] = [];
  for (const concurrency of CONCURRENCIES) {
    await bench.submit(WARMUP_REQUESTS, concurrency);
    await bench.drain();
    const result = await bench.submit(requests, concurrency, true);
    const drainStartedAt = performance.now();
    await bench.drain();
    const report = { ...loadReport(concurrency, result), drain_seconds: round((performance.now() - drainStartedAt) / 1000) };
    reports.push(report);
    for (const body of result.bodies) {
      const id = body ? (JSON.parse(body) as { id?: unknown }).id : undefined;
      if (typeof id === 'string') ids.push(id);
    }
    progress(`api: POST /api/v1/tasks at c=${concurrency}: ${report.requests_per_s}/s, p50 ${report.latency_ms.p50} ms, ` +
      `p99 ${report.latency_ms.p99} ms; the tasks finished ${report.drain_seconds} s later`);
  }
  return { reports, ids };
}

async function measureReads(bench: ApiBench, requests: number, ids: readonly string[], progress: (msg: string) => void) {
  if (ids.length === 0) throw new Error('No task was created, so there is none to read');
  const reads = (count: number): LoadRequest[] =>
    Array.from({ length: count }, (_, i) => ({ method: 'GET', path: `/api/v1/tasks/${ids[i % ids.length]}` }));
  const reports: LoadReport[] = [];
  for (const concurrency of CONCURRENCIES) {
    await bench.client.load({ url: bench.server.url, headers: bench.headers, concurrency, requests: reads(WARMUP_REQUESTS) });
    const result = await bench.client.load({ url: bench.server.url, headers: bench.headers, concurrency, requests: reads(requests) });
    const report = loadReport(concurrency, result);
    reports.push(report);
    progress(`api: GET /api/v1/tasks/{id} at c=${concurrency}: ${report.requests_per_s}/s, p50 ${report.latency_ms.p50} ms, p99 ${report.latency_ms.p99} ms`);
  }
  return reports;
}

async function describeTasks(bench: ApiBench, ids: readonly string[]): Promise<ApiReport['unsuccessful_tasks']> {
  const out: ApiReport['unsuccessful_tasks'] = [];
  for (const id of ids) {
    const { task, clones } = await bench.server.kage.tasks.view(id);
    out.push({ id, status: task.status, error: task.error,
      clones: clones.map((c) => ({ name: c.name, status: c.status, error: c.error })) });
  }
  return out;
}

export async function measureApi(opts: ApiBenchOptions): Promise<ApiReport> {
  opts.progress(`api: starting the server (${WORKERS} workers, fake agent) and the client process`);
  const bench = await startBench(opts);
  try {
    const submit = await measureSubmissions(bench, opts.requests, opts.progress);
    const getTask = await measureReads(bench, opts.requests, submit.ids, opts.progress);
    const sse = await measureSse(bench, opts.progress);
    const memory = await measureApiMemory(bench, { tasks: opts.memoryTasks, progress: opts.progress });
    return {
      server_pid: process.pid,
      client_pid: bench.client.pid,
      client: 'node:http keep-alive Agent in a child process',
      workers: WORKERS,
      requests_per_series: opts.requests,
      submit: submit.reports,
      get_task: getTask,
      sse,
      memory,
      task_statuses: bench.finishes.statuses(),
      unsuccessful_tasks: await describeTasks(bench, bench.finishes.unsuccessful()),
    };
  } finally {
    bench.finishes.stop();
    await bench.client.close();
    await bench.server.close({ graceMs: 0 });
  }
}
