// Command line of the benchmark: sample counts, the memory run's length, the output file.

export interface BenchOptions {
  quick: boolean;
  /** Timed tasks per clone count (after one untimed warm-up each). */
  samples: Record<number, number>;
  /** Sequential one-clone tasks in the memory run. */
  memoryTasks: number;
  /** Task after which the memory run takes its first sample. */
  memoryCheckpoint: number;
  out: string;
  /** Keep the temporary directory (repositories, KAGE_HOME, server) for inspection. */
  keep: boolean;
}

export const CLONE_COUNTS = [1, 4, 8] as const;

const FULL_SAMPLES = { 1: 20, 4: 15, 8: 10 };
const QUICK_SAMPLES = { 1: 4, 4: 3, 8: 2 };

function positiveInt(flag: string, raw: string | undefined): number {
  const value = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`Expected \`${flag}\` to be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function parseBenchArgs(argv: readonly string[], defaultOut: string): BenchOptions {
  let quick = false;
  let keep = false;
  let tasks: number | null = null;
  let samples: number | null = null;
  let out = defaultOut;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--keep') keep = true;
    else if (arg === '--tasks') tasks = positiveInt('--tasks', argv[++i]);
    else if (arg === '--samples') samples = positiveInt('--samples', argv[++i]);
    else if (arg === '--out') out = argv[++i] ?? out;
    else throw new Error(`Unknown argument ${JSON.stringify(arg)}; expected --quick, --tasks <n>, --samples <n>, --out <file>, --keep`);
  }
  const memoryTasks = tasks ?? (quick ? 40 : 1000);
  return {
    quick,
    samples: samples !== null ? { 1: samples, 4: samples, 8: samples } : { ...(quick ? QUICK_SAMPLES : FULL_SAMPLES) },
    memoryTasks,
    memoryCheckpoint: Math.min(100, Math.max(1, Math.floor(memoryTasks / 4))),
    out,
    keep,
  };
}
