// Memory of a long-running kage process: sequential one-clone tasks, RSS and heap after a garbage
// collection at a checkpoint and at the end. Growth between the two is what a leak looks like.
import type { Kage } from '../main/app.js';
import type { KageTaskRunner } from './kage-tasks.js';
import { quantile, round } from './stats.js';

export interface MemorySample {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

export interface MemoryReport {
  tasks: number;
  checkpoint_task: number;
  gc_exposed: boolean;
  /** Each the median of samples after the last `SAMPLES_PER_CHECKPOINT` tasks up to that task: one sample of
   * RSS moves by a few MB with whatever the allocator holds at that instant. */
  at: Record<string, MemorySample>;
  /** RSS after a collection every 50 tasks, for the trend. */
  series_rss_mb: Record<string, number>;
  growth_mb: number;
  heap_growth_mb: number;
  failed_tasks: number;
  seconds: number;
  /** Median task latency over the first and the last `window` tasks: a slowdown as the tables grow shows here. */
  latency_p50_ms: { window: number; first: number; last: number };
}

const MB = 1024 * 1024;
const SAMPLES_PER_CHECKPOINT = 10;

export function median(samples: MemorySample[]): MemorySample {
  const pick = (key: keyof MemorySample): number => round(quantile(samples.map((x) => x[key]), 0.5));
  return { rss_mb: pick('rss_mb'), heap_used_mb: pick('heap_used_mb'), heap_total_mb: pick('heap_total_mb'), external_mb: pick('external_mb') };
}

/** This process's memory after a full collection (when node runs with --expose-gc). */
export function sample(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass may only queue finalizers whose memory the second frees.
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss_mb: round(m.rss / MB), heap_used_mb: round(m.heapUsed / MB), heap_total_mb: round(m.heapTotal / MB),
    external_mb: round(m.external / MB) };
}

export async function measureMemory(kage: Kage, runner: KageTaskRunner, opts: {
  repo: string;
  /** The file every task rewrites (see TASK_FILE). */
  file: string;
  tasks: number;
  checkpoint: number;
  progress: (msg: string) => void;
}): Promise<MemoryReport> {
  const at: Record<string, MemorySample> = {};
  const series: Record<string, number> = {};
  let window_: MemorySample[] = [];
  let failed = 0;
  const latencies: number[] = [];
  const startedAt = performance.now();
  for (let i = 1; i <= opts.tasks; i++) {
    const result = await runner.run({ repo: opts.repo, clones: 1, description: `memory task ${i}`,
      options: { behaviour: 'ok', file: opts.file, content: `memory task ${i}\n` } });
    if (result.status !== 'completed') failed++;
    latencies.push(result.elapsedMs);
    // The last clone job's handler returns just after the task finishes; measure with nothing in flight.
    await kage.runtime.idle(30_000);
    const nearCheckpoint = [opts.checkpoint, opts.tasks].some((cp) => i > cp - SAMPLES_PER_CHECKPOINT && i <= cp);
    if (nearCheckpoint) window_.push(sample());
    if (i === opts.checkpoint || i === opts.tasks) {
      at[String(i)] = median(window_);
      window_ = [];
    }
    if (i % 50 === 0) series[String(i)] = sample().rss_mb;
    if (i % 50 === 0 || i === opts.tasks) {
      opts.progress(`memory: ${i}/${opts.tasks} tasks, rss ${round(process.memoryUsage().rss / MB)} MB`);
    }
  }
  const first = at[String(opts.checkpoint)]!;
  const last = at[String(opts.tasks)]!;
  const window = Math.min(100, opts.checkpoint);
  return {
    tasks: opts.tasks,
    checkpoint_task: opts.checkpoint,
    gc_exposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    at,
    series_rss_mb: series,
    growth_mb: round(last.rss_mb - first.rss_mb),
    heap_growth_mb: round(last.heap_used_mb - first.heap_used_mb),
    failed_tasks: failed,
    seconds: round((performance.now() - startedAt) / 1000),
    latency_p50_ms: { window, first: round(quantile(latencies.slice(0, window), 0.5)),
      last: round(quantile(latencies.slice(-window), 0.5)) },
  };
}
