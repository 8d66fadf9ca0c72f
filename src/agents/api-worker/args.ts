// Command line of the API worker. Hand-rolled like the fake agent's: a prompt may start with `-` and is
// taken verbatim as the value of `-p`. A flag given twice keeps its last value (extra args override).
export interface WorkerArgs {
  provider: string;
  model: string;
  prompt: string;
  maxTurns: number;
  /** Cap on each answer's tokens; null = the provider's default. */
  maxTokens: number | null;
  /** Default and upper bound of run_command's timeout. */
  commandTimeoutMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  version: boolean;
}

export const WORKER_DEFAULTS = Object.freeze({
  maxTurns: 20,
  maxTokens: null as number | null,
  commandTimeoutMs: 120_000,
  requestTimeoutMs: 600_000,
  connectTimeoutMs: 5_000,
});

const VALUE_FLAGS: Record<string, keyof WorkerArgs> = {
  '--provider': 'provider',
  '--model': 'model',
  '-p': 'prompt',
  '--prompt': 'prompt',
  '--max-turns': 'maxTurns',
  '--max-tokens': 'maxTokens',
  '--command-timeout-ms': 'commandTimeoutMs',
  '--request-timeout-ms': 'requestTimeoutMs',
  '--connect-timeout-ms': 'connectTimeoutMs',
};

export class WorkerArgsError extends Error {}

export function parseWorkerArgs(argv: readonly string[]): WorkerArgs {
  const raw = new Map<keyof WorkerArgs, string>();
  let version = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--version' || arg === '-v') {
      version = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const key = VALUE_FLAGS[flag];
    if (key === undefined) throw new WorkerArgsError(`unknown argument ${JSON.stringify(arg)}`);
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[(i += 1)];
    if (value === undefined) throw new WorkerArgsError(`${flag} needs a value`);
    raw.set(key, value);
  }
  const args: WorkerArgs = {
    provider: raw.get('provider') ?? '',
    model: raw.get('model') ?? '',
    prompt: raw.get('prompt') ?? '',
    maxTurns: positiveInteger(raw, 'maxTurns', '--max-turns', WORKER_DEFAULTS.maxTurns),
    maxTokens: positiveInteger(raw, 'maxTokens', '--max-tokens', WORKER_DEFAULTS.maxTokens),
    commandTimeoutMs: positiveInteger(raw, 'commandTimeoutMs', '--command-timeout-ms', WORKER_DEFAULTS.commandTimeoutMs),
    requestTimeoutMs: positiveInteger(raw, 'requestTimeoutMs', '--request-timeout-ms', WORKER_DEFAULTS.requestTimeoutMs),
    connectTimeoutMs: positiveInteger(raw, 'connectTimeoutMs', '--connect-timeout-ms', WORKER_DEFAULTS.connectTimeoutMs),
    version,
  };
  if (version) return args;
  if (args.provider === '') throw new WorkerArgsError('--provider is required');
  if (args.model.trim() === '') throw new WorkerArgsError('--model is required: name the model to use, e.g. --model qwen2.5-coder:7b');
  if (args.prompt.trim() === '') throw new WorkerArgsError('-p is required: the task for the model');
  return args;
}

function positiveInteger<T extends number | null>(raw: Map<keyof WorkerArgs, string>, key: keyof WorkerArgs, flag: string, fallback: T): number | T {
  const value = raw.get(key);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new WorkerArgsError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
