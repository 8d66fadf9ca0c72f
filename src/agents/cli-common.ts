// Helpers every adapter shares: reading per-clone options and picking the executable.
import { KageError, showValue } from '../domain/index.js';
import type { AgentRunInput, CliSpec } from './adapter.js';

/** `options.args`: extra arguments from the config or the API, appended to the command line. */
export function extraArgs(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((el) => typeof el === 'string')) return value as string[];
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.args\` to be an array of strings; got ${showValue(value)}`, { field: 'options.args' });
}

/** A positive integer option (number or digit string), as the string a flag takes. */
export function positiveIntegerOption(key: string, value: unknown): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string' && /^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text))) return text;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.${key}\` to be a positive integer; got ${showValue(value)}`, {
    field: `options.${key}`,
  });
}

/** The executable to run: the one the runner found, else the bare command name (the supervisor reports ENOENT). */
export function cliExecutable(input: AgentRunInput, spec: CliSpec): string {
  return input.binary ?? spec.command;
}

/** The model to ask for: the clone's, else the adapter's default (null: let the CLI choose). */
export function modelOf(input: AgentRunInput, fallback: string | null = null): string | null {
  return input.model !== null && input.model.trim() !== '' ? input.model : fallback;
}

/**
 * `args` unchanged, unless one of them sets a flag the adapter owns (`flag` or `flag=value`), such as the
 * output format its parser reads: that would break the run in a way only the parser would notice.
 */
export function refuseOwnedFlags(args: readonly string[], owned: readonly string[], why: string): string[] {
  const taken = args.find((arg) => owned.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
  if (taken === undefined) return [...args];
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.args\` not to set ${showValue(taken)}: ${why}`, { field: 'options.args' });
}

/**
 * The HTTP status an agent CLI's error text names, else null. Qwen Code and Codex print API failures only as
 * text: `[API Error: 400 …]`, `unexpected status 401 Unauthorized: …`, `exceeded retry limit, last status: 429 …`.
 */
export function statusInErrorText(text: string): number | null {
  const digits = /(?:API Error|\bstatus(?: code)?):?\s+(\d{3})\b/i.exec(text)?.[1];
  const status = digits === undefined ? NaN : Number(digits);
  return status >= 100 && status <= 599 ? status : null;
}

/**
 * Whether an agent CLI's error text says the request got no answer at all: Node's `fetch failed` (Qwen's
 * `Connection error.`), or reqwest's `error sending request` and `stream disconnected` (Codex). Neither tells
 * a refused connection from a reset one, so such errors count as `network`, not `unreachable`.
 */
export function isConnectionFailureText(text: string): boolean {
  return /\bconnection (?:error|failed|refused|reset)|fetch failed|error sending request|stream disconnected/i.test(text);
}
