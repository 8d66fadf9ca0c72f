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
