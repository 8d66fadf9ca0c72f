// Memory of the API server across many submitted tasks: rounds of submissions over HTTP at concurrency 16,
// each round left to finish (the workers run every task with the fake agent, to the merge), then the
// server process's RSS after a forced collection. Growth from the end of the warm-up to the end of the run
// is what a leak looks like; the server is this process, so its RSS is read directly.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiBench } from './api.js';
import { median, sample, type MemorySample } from './memory.js';
import { quantile, round, summarize, type Summary } from './stats.js';

const ROUND_TASKS = 250;
const CONCURRENCY = 16;
/** The first tenth of the tasks (at least one round) warm the process up: caches, pools, JIT. */
const WARMUP_FRACTION = 0.1;
/** Samples at each checkpoint, a little apart: one sample of RSS moves with what the allocator holds at that instant. */
const CHECKPOINT_SAMPLES = 5;
const SAMPLE_SPACING_MS = 100;

export interface ApiMemoryReport {
  tasks: number;
  round_tasks: number;
  warmup_tasks: number;
  gc_exposed: boolean;
  /** Medians of the samples taken once the warm-up's tasks, then all tasks, had finished. */
  after_warmup: MemorySample;
  end: MemorySample;
  growth_mb: number;
  heap_growth_mb: number;
  /** RSS after each round, by tasks submitted so far. */
  series_rss_mb: Record<string, number>;
  /** Submissions per second at concurrency 16, the median over rounds; the workers start on a round's tasks while it is submitted. */
  submit_requests_per_s_p50: number;
  submit_latency_ms: Summary;
  failed_submissions: number;
  seconds: number;
  /** Tasks run to completion per second, submissions included. */
  tasks_per_s: number;
}

async function checkpoint(): Promise<MemorySample> {
  const samples: MemorySample[] = [];
  for (let i = 0; i < CHECKPOINT_SAMPLES; i++) {
    if (i > 0) await sleep(SAMPLE_SPACING_MS);
    samples.push(sample());
  }
  return median(samples);
}

export async function measureApiMemory(bench: ApiBench, opts: { tasks: number; progress: (msg: string) => void }): Promise<ApiMemoryReport> {
  const rounds = Math.max(2, Math.ceil(opts.tasks / ROUND_TASKS));
  const warmupRounds = Math.max(1, Math.round(rounds * WARMUP_FRACTION));
  opts.progress(`api: memory, ${rounds * ROUND_TASKS} tasks in rounds of ${ROUND_TASKS} at c=${CONCURRENCY}; ` +
    `RSS after the first ${warmupRounds * ROUND_TASKS} and at the end`);
  const series: Record<string, number> = {};
  const rates: number[] = [];
  const latencies: number[] = [];
  let failed = 0;
  let afterWarmup: MemorySample | null = null;
  let end: MemorySample | null = null;
  const startedAt = performance.now();
  for (let r = 1; r <= rounds; r++) {
    const result = await bench.submit(ROUND_TASKS, CONCURRENCY);
    failed += ROUND_TASKS - (result.statuses['201'] ?? 0);
    rates.push(result.latenciesMs.length / (result.elapsedMs / 1000));
    latencies.push(...result.latenciesMs);
    await bench.drain();
    const tasks = r * ROUND_TASKS;
    if (r === warmupRounds) afterWarmup = await checkpoint();
    if (r === rounds) end = await checkpoint();
    series[String(tasks)] = sample().rss_mb;
    const elapsed = (performance.now() - startedAt) / 1000;
    opts.progress(`api: memory ${tasks}/${rounds * ROUND_TASKS} tasks, rss ${series[String(tasks)]} MB, ` +
      `${round(tasks / elapsed)} tasks/s`);
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    tasks: rounds * ROUND_TASKS,
    round_tasks: ROUND_TASKS,
    warmup_tasks: warmupRounds * ROUND_TASKS,
    gc_exposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    after_warmup: afterWarmup!,
    end: end!,
    growth_mb: round(end!.rss_mb - afterWarmup!.rss_mb),
    heap_growth_mb: round(end!.heap_used_mb - afterWarmup!.heap_used_mb),
    series_rss_mb: series,
    submit_requests_per_s_p50: round(quantile(rates, 0.5)),
    submit_latency_ms: summarize(latencies, 2),
    failed_submissions: failed,
    seconds: round(seconds),
    tasks_per_s: round((rounds * ROUND_TASKS) / seconds),
  };
}
