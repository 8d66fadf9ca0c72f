// Judges a stress run: RSS growth against the thresholds, tasks left open, failed submissions; and renders
// the result as one JSON object or as text.
import { duration, table } from '../render.js';
import type { StressOptions } from './options.js';
import type { StressObservation, StressSample } from './run.js';

const MB = 1024 * 1024;
/** RSS growth below this is fine, up to RSS_LEAK_MB moderate, above it a leak (v1's thresholds). */
export const RSS_MODERATE_MB = 20;
export const RSS_LEAK_MB = 50;

/** fine: growth < 20 MB; moderate: 20..50 MB; leak: > 50 MB. */
export type RssVerdict = 'fine' | 'moderate' | 'leak';

export function rssVerdict(growthBytes: number): RssVerdict {
  const mb = growthBytes / MB;
  if (mb > RSS_LEAK_MB) return 'leak';
  return mb >= RSS_MODERATE_MB ? 'moderate' : 'fine';
}

export interface Span {
  start: number | null;
  peak: number | null;
  end: number | null;
}

export interface StressReport {
  ok: boolean;
  /** 0: passed; 1: a leak, tasks not terminal before the timeout, failed submissions, or the server lost. */
  exit_code: 0 | 1;
  problems: string[];
  warnings: string[];
  url: string;
  agent: string;
  concurrency: number;
  server: {
    pid: number;
    pid_source: 'GET /api/v1/system';
    /** True when the pid is a process on this machine, sampled through /proc; else only the API's figures. */
    local: boolean;
    local_check: string;
    started_at: string;
    version: string;
    kage_home: string;
  };
  submissions: { requested: number; succeeded: number; failed: number; throttled_retries: number; failures: Counted[] };
  tasks: { terminal: number; not_terminal: number; by_status: Record<string, number>; clone_errors: Counted[]; poll_errors: number };
  rss: {
    /** `proc`: VmRSS of /proc/<pid>/status; `api`: the server's own figure when it runs elsewhere. */
    source: 'proc' | 'api';
    start_bytes: number;
    peak_bytes: number;
    end_bytes: number;
    growth_bytes: number;
    start_mb: number;
    peak_mb: number;
    end_mb: number;
    growth_mb: number;
    verdict: RssVerdict;
    thresholds_mb: { moderate: number; leak: number };
  };
  open_fds: Span;
  /** Every process below the server (children's children too); `direct_children` counts only its own. */
  child_processes: Span;
  direct_children: Span;
  worktrees_on_disk: Span;
  db_connections: Span;
  durations_s: { submit: number; until_terminal: number | null; settle: number; total: number };
  submissions_per_s: number;
  samples: StressSample[];
  sample_errors: string[];
}

export interface Counted {
  message: string;
  count: number;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** The `limit` most frequent messages, most frequent first. */
export function topMessages(messages: readonly string[], limit = 3): Counted[] {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count).slice(0, limit);
}

function span(samples: readonly StressSample[], pick: (s: StressSample) => number | null): Span {
  const values = samples.map(pick);
  const known = values.filter((v): v is number => v !== null);
  return { start: values[0] ?? null, peak: known.length > 0 ? Math.max(...known) : null, end: values.at(-1) ?? null };
}

export function buildReport(opts: StressOptions, run: StressObservation): StressReport {
  const { samples } = run;
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const peakRss = Math.max(...samples.map((s) => s.rss_bytes));
  const growth = last.rss_bytes - first.rss_bytes;
  const verdict = rssVerdict(growth);
  const succeeded = run.taskIds.length;
  const failed = run.submitFailures.length;

  const problems: string[] = [];
  const warnings: string[] = [];
  if (failed > 0) problems.push(`${failed} of ${run.submitted} submissions failed`);
  if (run.notTerminal > 0) problems.push(`${run.notTerminal} of ${succeeded} tasks were not terminal ${opts.timeoutMs / 1000} s after the last submission`);
  if (verdict === 'leak') problems.push(`RSS grew by ${round1(growth / MB)} MB: a leak (> ${RSS_LEAK_MB} MB)`);
  if (verdict === 'moderate') warnings.push(`RSS grew by ${round1(growth / MB)} MB: moderate (${RSS_MODERATE_MB}-${RSS_LEAK_MB} MB)`);
  if (run.serverLost !== null) problems.push(run.serverLost);
  if (!run.server.local) warnings.push(`${run.server.localReason}; RSS is the server's own figure, open fds and child processes are unknown`);
  if (run.sampleErrors.length > 0) warnings.push(`${run.sampleErrors.length} samples failed; last: ${run.sampleErrors.at(-1)}`);
  if (run.pollErrors.length > 0) warnings.push(`${run.pollErrors.length} status reads failed; last: ${run.pollErrors.at(-1)}`);

  const byStatus: Record<string, number> = {};
  for (const status of run.outcomes.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;
  const submitMs = run.submitEndedAtMs - run.submitStartedAtMs;

  return {
    ok: problems.length === 0,
    exit_code: problems.length === 0 ? 0 : 1,
    problems,
    warnings,
    url: opts.url,
    agent: opts.agent,
    concurrency: opts.concurrency,
    server: {
      pid: run.server.pid,
      pid_source: 'GET /api/v1/system',
      local: run.server.local,
      local_check: run.server.localReason,
      started_at: run.server.startedAt,
      version: run.server.version,
      kage_home: run.server.kageHome,
    },
    submissions: { requested: opts.tasks, succeeded, failed, throttled_retries: run.throttledRetries, failures: topMessages(run.submitFailures) },
    tasks: {
      terminal: run.outcomes.size,
      not_terminal: run.notTerminal,
      by_status: byStatus,
      clone_errors: topMessages(run.cloneErrors),
      poll_errors: run.pollErrors.length,
    },
    rss: {
      source: run.server.local ? 'proc' : 'api',
      start_bytes: first.rss_bytes,
      peak_bytes: peakRss,
      end_bytes: last.rss_bytes,
      growth_bytes: growth,
      start_mb: round1(first.rss_bytes / MB),
      peak_mb: round1(peakRss / MB),
      end_mb: round1(last.rss_bytes / MB),
      growth_mb: round1(growth / MB),
      verdict,
      thresholds_mb: { moderate: RSS_MODERATE_MB, leak: RSS_LEAK_MB },
    },
    open_fds: span(samples, (s) => s.open_fds),
    child_processes: span(samples, (s) => s.descendants),
    direct_children: span(samples, (s) => s.children),
    worktrees_on_disk: span(samples, (s) => s.worktrees_on_disk),
    db_connections: span(samples, (s) => s.db_connections),
    durations_s: {
      submit: seconds(submitMs),
      until_terminal: run.allTerminalAtMs === null ? null : seconds(run.allTerminalAtMs - run.submitStartedAtMs),
      settle: seconds(run.endedAtMs - run.settleStartedAtMs),
      total: seconds(run.endedAtMs - run.startedAtMs),
    },
    submissions_per_s: submitMs > 0 ? round1((run.submitted * 1000) / submitMs) : 0,
    samples,
    sample_errors: run.sampleErrors,
  };
}

const show = (n: number | null): string => (n === null ? '-' : String(n));
const mb = (n: number): string => `${n.toFixed(1)} MB`;
const secs = (s: number | null): string => (s === null ? '-' : duration(Math.round(s * 1000)));

export function renderReport(r: StressReport): string {
  const s = r.server;
  const lines = [
    `kage stress: ${r.submissions.requested} tasks for agent ${r.agent} (concurrency ${r.concurrency}) against ${r.url}`,
    `Server: pid ${s.pid} from GET /api/v1/system, ${s.local ? 'sampled through /proc on this machine' : 'not on this machine'}; kage ${s.version}, home ${s.kage_home}`,
    `Submissions: ${r.submissions.succeeded}/${r.submissions.requested} succeeded in ${secs(r.durations_s.submit)} (${r.submissions_per_s}/s)` +
      (r.submissions.throttled_retries > 0 ? `, ${r.submissions.throttled_retries} retried after 429` : ''),
  ];
  for (const f of r.submissions.failures) lines.push(`  ${f.count}x ${f.message}`);
  const statuses = Object.entries(r.tasks.by_status).map(([status, n]) => `${status} ${n}`).join(', ') || 'none';
  const until = r.durations_s.until_terminal === null ? `not all terminal (${r.tasks.not_terminal} open)` : `all terminal after ${secs(r.durations_s.until_terminal)}`;
  lines.push(`Tasks: ${r.tasks.terminal}/${r.submissions.succeeded} terminal, ${until}: ${statuses}`);
  if (r.tasks.clone_errors.length > 0) {
    lines.push('Clone errors (most frequent):');
    for (const e of r.tasks.clone_errors) lines.push(`  ${e.count}x ${e.message.length > 160 ? `${e.message.slice(0, 157)}...` : e.message}`);
  }
  const rss = r.rss;
  const spans: [string, Span][] = [
    ['open fds', r.open_fds],
    ['child processes (all below the server)', r.child_processes],
    ['worktrees on disk', r.worktrees_on_disk],
    ['database connections', r.db_connections],
  ];
  lines.push(
    `RSS (${rss.source === 'proc' ? 'VmRSS from /proc' : 'reported by the server'}): start ${mb(rss.start_mb)}, peak ${mb(rss.peak_mb)}, end ${mb(rss.end_mb)}; ` +
      `growth ${rss.growth_mb >= 0 ? '+' : ''}${mb(rss.growth_mb)}: ${rss.verdict} (fine < ${rss.thresholds_mb.moderate} MB, leak > ${rss.thresholds_mb.leak} MB)`,
    '',
    table(['', 'start', 'peak', 'end'], spans.map(([name, v]) => [name, show(v.start), show(v.peak), show(v.end)])),
    '',
    `Durations: submit ${secs(r.durations_s.submit)}, until terminal ${secs(r.durations_s.until_terminal)}, ` +
      `settle ${secs(r.durations_s.settle)}, total ${secs(r.durations_s.total)}; ${r.samples.length} samples`,
  );
  for (const w of r.warnings) lines.push(`Warning: ${w}`);
  for (const p of r.problems) lines.push(`Problem: ${p}`);
  lines.push(r.ok ? 'Result: passed' : 'Result: FAILED');
  return lines.join('\n');
}
