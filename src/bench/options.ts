// Command line of the benchmark: which parts run, sample counts, the memory runs' lengths, the output file.

/**
 * `core`: task latency against the floor, and memory, through the library; `api`: the HTTP server;
 * `agents`: each agent CLI and API worker against the mock model server, spawned directly and through kage;
 * `gateway`: streamed model requests to the mock model server, directly and through the LLM gateway.
 */
export type BenchPart = 'core' | 'api' | 'agents' | 'gateway';

export const BENCH_PARTS: readonly BenchPart[] = ['core', 'api', 'agents', 'gateway'];

export interface BenchOptions {
  quick: boolean;
  /** The parts to run (`--only` picks one). */
  parts: BenchPart[];
  /** Timed tasks per clone count (after one untimed warm-up each). */
  samples: Record<number, number>;
  /** Sequential one-clone tasks in the memory run. */
  memoryTasks: number;
  /** Task after which the memory run takes its first sample. */
  memoryCheckpoint: number;
  /** Requests per measured API series (submissions, reads) at each concurrency. */
  apiRequests: number;
  /** Tasks submitted over HTTP for the API server's memory. */
  apiTasks: number;
  /** Timed samples per agent, each a direct run and a kage task (after one untimed warm-up of each). */
  agentSamples: number;
  /** Timed requests per protocol and side through and around the gateway (after an untimed warm-up). */
  gatewayRequests: number;
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
  let apiTasks: number | null = null;
  let apiRequests: number | null = null;
  let agentSamples: number | null = null;
  let gatewayRequests: number | null = null;
  let parts: BenchPart[] = [...BENCH_PARTS];
  let out = defaultOut;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--keep') keep = true;
    else if (arg === '--tasks') tasks = positiveInt('--tasks', argv[++i]);
    else if (arg === '--samples') samples = positiveInt('--samples', argv[++i]);
    else if (arg === '--api-tasks') apiTasks = positiveInt('--api-tasks', argv[++i]);
    else if (arg === '--api-requests') apiRequests = positiveInt('--api-requests', argv[++i]);
    else if (arg === '--agent-samples') agentSamples = positiveInt('--agent-samples', argv[++i]);
    else if (arg === '--gateway-requests') gatewayRequests = positiveInt('--gateway-requests', argv[++i]);
    else if (arg === '--only') {
      const raw = argv[++i];
      const part = BENCH_PARTS.find((p) => p === raw);
      if (part === undefined) throw new Error(`Expected \`--only\` to be ${BENCH_PARTS.join(', ')}, got ${JSON.stringify(raw)}`);
      parts = [part];
    } else if (arg === '--out') out = argv[++i] ?? out;
    else {
      throw new Error(`Unknown argument ${JSON.stringify(arg)}; expected --quick, --only core|api|agents|gateway, --tasks <n>, ` +
        '--samples <n>, --api-tasks <n>, --api-requests <n>, --agent-samples <n>, --gateway-requests <n>, --out <file>, --keep');
    }
  }
  const memoryTasks = tasks ?? (quick ? 40 : 1000);
  return {
    quick,
    parts,
    samples: samples !== null ? { 1: samples, 4: samples, 8: samples } : { ...(quick ? QUICK_SAMPLES : FULL_SAMPLES) },
    memoryTasks,
    memoryCheckpoint: Math.min(100, Math.max(1, Math.floor(memoryTasks / 4))),
    apiRequests: apiRequests ?? (quick ? 200 : 500),
    apiTasks: apiTasks ?? (quick ? 1000 : 10_000),
    agentSamples: agentSamples ?? (quick ? 2 : 5),
    gatewayRequests: gatewayRequests ?? (quick ? 300 : 2000),
    out,
    keep,
  };
}
