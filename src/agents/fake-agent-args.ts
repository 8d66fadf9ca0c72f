// Command line of the fake agent. Hand-rolled rather than util.parseArgs: a prompt may start with `-`
// and must be taken verbatim as the value of `-p`.
import { FAKE_DEFAULTS, parseFakeTokens } from './fake-behaviours.js';
import type { Usage } from '../domain/index.js';

export interface FakeArgs {
  prompt: string;
  /** null: fall back to KAGE_FAKE_BEHAVIOUR, then `ok`. */
  behaviour: string | null;
  /** null: the behaviour's own default file. */
  file: string | null;
  content: string;
  delayMs: number;
  floodBytes: number;
  usage: Usage;
  errorStatus: number;
  model: string;
  version: boolean;
}

const VALUE_FLAGS: Record<string, string> = {
  '-p': 'prompt',
  '--print': 'prompt',
  '--prompt': 'prompt',
  '--behaviour': 'behaviour',
  '--behavior': 'behaviour',
  '--file': 'file',
  '--content': 'content',
  '--delay-ms': 'delayMs',
  '--flood-bytes': 'floodBytes',
  '--tokens': 'tokens',
  '--error-status': 'errorStatus',
  '--model': 'model',
};

export class FakeArgsError extends Error {}

export function parseFakeArgs(argv: readonly string[]): FakeArgs {
  const raw = new Map<string, string>();
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
    if (key === undefined) throw new FakeArgsError(`unknown argument ${JSON.stringify(arg)}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      i += 1;
      value = argv[i];
    }
    if (value === undefined) throw new FakeArgsError(`${flag} needs a value`);
    raw.set(key, value);
  }

  const tokens = raw.get('tokens');
  const usage = tokens === undefined ? { ...FAKE_DEFAULTS.usage } : parseFakeTokens(tokens);
  if (usage === null) throw new FakeArgsError(`--tokens expects N or input,output[,cacheRead[,cacheWrite]], got ${JSON.stringify(tokens)}`);
  const file = raw.get('file') ?? null;
  if (file === '') throw new FakeArgsError('--file must not be empty');
  return {
    prompt: raw.get('prompt') ?? '',
    behaviour: raw.get('behaviour') ?? null,
    file,
    content: raw.get('content') ?? FAKE_DEFAULTS.content,
    delayMs: integerArg(raw, 'delayMs', '--delay-ms', FAKE_DEFAULTS.delayMs),
    floodBytes: integerArg(raw, 'floodBytes', '--flood-bytes', FAKE_DEFAULTS.floodBytes),
    usage,
    errorStatus: integerArg(raw, 'errorStatus', '--error-status', FAKE_DEFAULTS.errorStatus),
    model: raw.get('model') ?? FAKE_DEFAULTS.model,
    version,
  };
}

function integerArg(raw: Map<string, string>, key: string, flag: string, fallback: number): number {
  const value = raw.get(key);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new FakeArgsError(`${flag} expects a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
