// The command line of kage's API worker (api-worker.ts), shared by the adapters that drive it: one per
// provider, each adding its endpoint variables.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentCommand, AgentRunInput } from './adapter.js';
import { extraArgs, positiveIntegerOption } from './cli-common.js';

/**
 * Absolute path of the compiled worker. From `dist/` it sits beside this module; when this module runs from
 * `src/` (under vitest) the script still has to be the compiled one, since Node cannot run the `.ts`.
 */
export function apiWorkerPath(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(moduleUrl);
  const dir = path.dirname(here);
  if (here.endsWith('.ts')) return path.resolve(dir, '..', '..', 'dist', 'agents', 'api-worker.js');
  return path.join(dir, 'api-worker.js');
}

/** Options every API-worker adapter understands, and the worker flag each becomes. */
const OPTION_FLAGS = [
  ['maxTurns', '--max-turns'],
  ['maxTokens', '--max-tokens'],
  ['commandTimeoutMs', '--command-timeout-ms'],
  ['requestTimeoutMs', '--request-timeout-ms'],
] as const;

export interface ApiWorkerSpec {
  provider: string;
  /** Used when neither the clone nor the agent config names a model. */
  defaultModel: string;
  /** Endpoint and key variables for the worker, added to the allowlisted environment. */
  env: Record<string, string>;
}

/** The variables that have a value; a null one is left to the worker's default. */
export function endpointEnv(vars: Readonly<Record<string, string | null>>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter((entry): entry is [string, string] => entry[1] !== null && entry[1] !== ''));
}

export function buildApiWorkerCommand(input: AgentRunInput, spec: ApiWorkerSpec): AgentCommand {
  const model = input.model !== null && input.model !== '' ? input.model : spec.defaultModel;
  const argv = [process.execPath, apiWorkerPath(), '--provider', spec.provider, '--model', model];
  for (const [key, flag] of OPTION_FLAGS) {
    const value = input.options[key];
    if (value !== undefined && value !== null) argv.push(flag, positiveIntegerOption(key, value));
  }
  // Extra args from the config or the API come last so they win; the prompt stays one argv element.
  argv.push(...extraArgs(input.options.args), '-p', input.prompt);
  return { argv, env: spec.env, stdin: { kind: 'ignore' }, homeFiles: [] };
}
