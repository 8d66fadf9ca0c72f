// One run of `kage stress`: checks the server, takes its pid from `GET /api/v1/system`, submits the tasks
// the v1 memory stress test submits, and samples the server process until every task is terminal and over
// a settle window after. Returns what it saw; judging it is report.ts's job.
import { setTimeout as sleep } from 'node:timers/promises';
import { systemSchema } from '../../api/schemas.js';
import { describeAnswer, type HttpAnswer, type StressHttp } from './http.js';
import type { StressOptions } from './options.js';
import { isLocalProcess, processExists, readProcessFigures } from './proc.js';

/** A sample after every this many submissions, as v1's script took one every 20 tasks. */
export const SUBMISSIONS_PER_SAMPLE = 20;
/** Samples spread over the settle window after the tasks end (v1: six over a minute). */
export const SETTLE_SAMPLES = 6;
const POLL_INTERVAL_MS = 1000;
const PAGE_SIZE = 100;
/** Tasks missing from the list pages are read one by one, at most this many per poll. */
const MAX_SINGLE_READS = 20;
const V1_TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The run could not start: the server is unreachable, unhealthy, or refused the key. */
export class StressAbort extends Error {}

export type SamplePhase = 'start' | 'submit' | 'wait' | 'settle';

export interface StressSample {
  /** Seconds since the first request of the run. */
  at_s: number;
  phase: SamplePhase;
  submitted: number;
  terminal: number;
  rss_bytes: number;
  open_fds: number | null;
  children: number | null;
  descendants: number | null;
  worktrees_on_disk: number;
  db_connections: number | null;
  running_clones: number;
  queue_depth: number | null;
}

export interface ServerIdentity {
  pid: number;
  startedAt: string;
  version: string;
  kageHome: string;
  /** Whether the pid is a process on this machine (then RSS, fds and children come from /proc). */
  local: boolean;
  localReason: string;
}

export interface StressObservation {
  server: ServerIdentity;
  samples: StressSample[];
  sampleErrors: string[];
  submitted: number;
  taskIds: string[];
  submitFailures: string[];
  /** Submissions answered 429 and sent again after `Retry-After`. */
  throttledRetries: number;
  /** Final status of each terminal task (kage's own status when the server gives it). */
  outcomes: Map<string, string>;
  cloneErrors: string[];
  notTerminal: number;
  pollErrors: string[];
  /** The pid stopped existing, or the server answered with another pid, during the run. */
  serverLost: string | null;
  startedAtMs: number;
  submitStartedAtMs: number;
  submitEndedAtMs: number;
  allTerminalAtMs: number | null;
  settleStartedAtMs: number;
  endedAtMs: number;
}

interface TaskView {
  id: string;
  status: string;
  kage_status?: string;
  cli_results?: { error?: string | null }[] | null;
}

function isTaskView(value: unknown): value is TaskView {
  const v = value as TaskView | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.status === 'string';
}

/** The task text of v1's script, unchanged; it is only a description, nothing here runs it. */
export function stressTaskBody(i: number, agent: string, repo: string | null): Record<string, unknown> {
  return {
    description: `Stress test task #${i}: echo 'test ${i}' > /tmp/stress_${i}.txt`,
    cli_assignments: [{ cli_name: agent, timeout: 60 }],
    merge_strategy: 'theirs',
    ...(repo !== null ? { repo } : {}),
  };
}

async function identify(http: StressHttp, url: string): Promise<ServerIdentity> {
  const health = await http.get('/health', { auth: false });
  if (health.status === 0) throw new StressAbort(`cannot reach the kage server at ${url}: ${health.error}`);
  const healthy = (health.body as { status?: unknown } | null)?.status === 'healthy';
  if (health.status !== 200 || !healthy) throw new StressAbort(`the server at ${url} is not healthy: ${describeAnswer(health)}`);

  const system = await http.get('/api/v1/system');
  if (system.status === 401 || system.status === 403) {
    throw new StressAbort(`the server refused the API key (${describeAnswer(system)}); pass --key`);
  }
  if (system.status === 404) throw new StressAbort(`the server at ${url} has no GET /api/v1/system: it is older than this kage`);
  const parsed = systemSchema.safeParse(system.body);
  if (system.status !== 200 || !parsed.success) throw new StressAbort(`GET /api/v1/system failed: ${describeAnswer(system)}`);
  const { pid, started_at: startedAt, version, kage_home: kageHome } = parsed.data;
  const { local, reason } = isLocalProcess(pid, Date.parse(startedAt));
  return { pid, startedAt, version, kageHome, local, localReason: reason };
}

export async function runStress(opts: StressOptions, http: StressHttp, progress: (line: string) => void = () => undefined): Promise<StressObservation> {
  const startedAtMs = Date.now();
  const server = await identify(http, opts.url);
  const samples: StressSample[] = [];
  const sampleErrors: string[] = [];
  const taskIds: string[] = [];
  const submitFailures: string[] = [];
  const outcomes = new Map<string, string>();
  const cloneErrors: string[] = [];
  const pollErrors: string[] = [];
  const open = new Set<string>();
  let submitted = 0;
  let throttledRetries = 0;
  let serverLost: string | null = null;

  async function sample(phase: SamplePhase): Promise<void> {
    const answer = await http.get('/api/v1/system');
    const parsed = systemSchema.safeParse(answer.body);
    const figures = server.local ? readProcessFigures(server.pid) : null;
    if (server.local && !processExists(server.pid)) serverLost ??= `server process ${server.pid} exited during the run`;
    if (answer.status !== 200 || !parsed.success) {
      sampleErrors.push(`${phase} sample: ${describeAnswer(answer)}`);
      return;
    }
    const sys = parsed.data;
    if (sys.pid !== server.pid) serverLost ??= `the server answered with pid ${sys.pid} instead of ${server.pid}: it restarted`;
    samples.push({
      at_s: Math.round((Date.now() - startedAtMs) / 100) / 10,
      phase,
      submitted,
      terminal: outcomes.size,
      rss_bytes: figures?.rssBytes ?? sys.rss_bytes,
      open_fds: figures?.openFds ?? null,
      children: figures?.children ?? null,
      descendants: figures?.descendants ?? null,
      worktrees_on_disk: sys.worktrees_on_disk,
      db_connections: sys.db_connections,
      running_clones: sys.running_clones,
      queue_depth: sys.queue_depth,
    });
  }

  await sample('start');
  if (samples.length === 0) throw new StressAbort(`cannot take the first sample: ${sampleErrors.join('; ')}`);

  // Submissions, `concurrency` at a time.
  let next = 1;
  const submitStartedAtMs = Date.now();
  const submitDeadline = Date.now() + opts.timeoutMs;
  async function submitOne(i: number): Promise<void> {
    const body = stressTaskBody(i, opts.agent, opts.repo);
    let answer: HttpAnswer = await http.post('/api/v1/tasks', body);
    // A full queue or the per-key rate limit: wait as told rather than count a refusal as a failure.
    while (answer.status === 429 && Date.now() < submitDeadline) {
      throttledRetries++;
      await sleep(Math.min(answer.retryAfterS ?? 1, 60) * 1000);
      answer = await http.post('/api/v1/tasks', body);
    }
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      taskIds.push(id);
      open.add(id);
    } else {
      submitFailures.push(describeAnswer(answer));
    }
    submitted++;
    if (submitted % SUBMISSIONS_PER_SAMPLE === 0) {
      progress(`submitted ${submitted}/${opts.tasks}`);
      await sample('submit');
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.tasks) }, async () => {
    for (let i = next++; i <= opts.tasks; i = next++) await submitOne(i);
  }));
  const submitEndedAtMs = Date.now();

  function observe(task: TaskView): void {
    if (!V1_TERMINAL.has(task.status) || !open.delete(task.id)) return;
    outcomes.set(task.id, task.kage_status ?? task.status);
    for (const result of task.cli_results ?? []) {
      if (typeof result.error === 'string' && result.error !== '') cloneErrors.push(result.error);
    }
  }

  /** Reads the open tasks' statuses: list pages, newest first, where unfinished tasks of this run sit. */
  async function poll(): Promise<void> {
    const wanted = new Set(open);
    const maxPages = Math.ceil(wanted.size / PAGE_SIZE) + 2;
    for (let page = 1; wanted.size > 0 && page <= maxPages; page++) {
      const answer = await http.get(`/api/v1/tasks?page=${page}&page_size=${PAGE_SIZE}`);
      const list = answer.body as { tasks?: unknown; total?: unknown } | null;
      if (answer.status !== 200 || !Array.isArray(list?.tasks)) {
        pollErrors.push(describeAnswer(answer));
        return;
      }
      for (const task of list.tasks) {
        if (isTaskView(task) && wanted.delete(task.id)) observe(task);
      }
      if (list.tasks.length < PAGE_SIZE || page * PAGE_SIZE >= Number(list.total)) break;
    }
    for (const id of [...wanted].slice(0, MAX_SINGLE_READS)) {
      const answer = await http.get(`/api/v1/tasks/${id}`);
      if (answer.status === 200 && isTaskView(answer.body)) observe(answer.body);
      else pollErrors.push(`task ${id}: ${describeAnswer(answer)}`);
    }
  }

  // Waiting for every task to be terminal, sampling once a second.
  const waitDeadline = submitEndedAtMs + opts.timeoutMs;
  let allTerminalAtMs: number | null = null;
  let lastReportMs = Date.now();
  for (;;) {
    const tickMs = Date.now();
    await poll();
    await sample('wait');
    if (open.size === 0) {
      allTerminalAtMs = Date.now();
      break;
    }
    if (serverLost !== null || Date.now() >= waitDeadline) break;
    if (Date.now() - lastReportMs >= 5000) {
      lastReportMs = Date.now();
      progress(`terminal ${outcomes.size}/${taskIds.length}`);
    }
    await sleep(Math.max(0, tickMs + POLL_INTERVAL_MS - Date.now()));
  }
  progress(allTerminalAtMs !== null ? `all ${taskIds.length} tasks terminal; settling for ${opts.settleMs / 1000} s` : `${open.size} tasks still open; settling`);

  const settleStartedAtMs = Date.now();
  for (let k = 0; k < SETTLE_SAMPLES && serverLost === null; k++) {
    await sleep(opts.settleMs / SETTLE_SAMPLES);
    await sample('settle');
  }

  return {
    server, samples, sampleErrors, submitted, taskIds, submitFailures, throttledRetries, outcomes, cloneErrors,
    notTerminal: open.size, pollErrors, serverLost, startedAtMs, submitStartedAtMs, submitEndedAtMs, allTerminalAtMs,
    settleStartedAtMs, endedAtMs: Date.now(),
  };
}
