// Turns a v1 submit body into the core task input: v1 agent names, the default repo, the default author,
// and where an assignment's `context` and `args` go. Errors name the v1 field.
import type { AgentRegistry } from '../agents/registry.js';
import type { TaskInput } from '../core/task-input.js';
import { KageError, showValue } from '../domain/index.js';
import type { SubmitTaskBody } from './schemas.js';
import { V1_AGENT_ALIASES, V1_REMOVED_AGENTS } from './v1.js';

/** Core field names as the v1 body calls them, for errors raised by the core. */
const CORE_TO_V1: [RegExp, string][] = [
  [/^clones\[(\d+)\]\.agent$/, 'cli_assignments[$1].cli_name'],
  [/^clones\[(\d+)\]\.timeoutSeconds$/, 'cli_assignments[$1].timeout'],
  [/^clones\[(\d+)\]\.options(.*)$/, 'cli_assignments[$1].context$2'],
  [/^clones(.*)$/, 'cli_assignments$1'],
  [/^baseRef$/, 'base_ref'],
  [/^checkCommand$/, 'check_command'],
  [/^setupCommand$/, 'setup_command'],
  [/^mergeStrategy$/, 'merge_strategy'],
  [/^maxRetries$/, 'max_retries'],
  [/^retryDelaySeconds$/, 'retry_delay'],
  [/^createdBy$/, 'created_by'],
  [/^tokenBudget$/, 'token_budget'],
  [/^usdBudget$/, 'usd_budget'],
];

export function v1Field(field: string): string {
  for (const [pattern, replacement] of CORE_TO_V1) if (pattern.test(field)) return field.replace(pattern, replacement);
  return field;
}

/** A core KageError about a field, renamed to the v1 field (other errors unchanged). */
export function inV1Terms(err: unknown): unknown {
  if (!(err instanceof KageError) || !err.field) return err;
  const field = v1Field(err.field);
  if (field === err.field) return err;
  const message = err.message.split(`\`${err.field}\``).join(`\`${field}\``);
  return new KageError(err.code, message, { field, details: err.details, cause: err });
}

/** The names the API accepts: every adapter id and alias, and the v1 names that map onto one of them. */
export function validAgentNames(agents: AgentRegistry): string[] {
  const v1 = Object.entries(V1_AGENT_ALIASES).filter(([, id]) => agents.has(id)).map(([name]) => name);
  return [...new Set([...agents.ids(), ...agents.list().flatMap((a) => a.aliases), ...v1])];
}

/** The adapter id for a `cli_name`, or a 422 naming the field and the valid names. */
export function resolveCliName(name: string, agents: AgentRegistry, index: number): string {
  const field = `cli_assignments[${index}].cli_name`;
  const valid = validAgentNames(agents);
  const alternative = V1_REMOVED_AGENTS[name];
  if (alternative !== undefined) {
    throw new KageError('KAGE_UNKNOWN_AGENT',
      `Invalid \`${field}\`: ${showValue(name)} was removed; use ${showValue(alternative)} instead (valid agents: ${valid.join(', ')})`,
      { field, details: { agent: name, alternative, validAgents: valid } });
  }
  const id = V1_AGENT_ALIASES[name] ?? name;
  if (!agents.has(id)) {
    throw new KageError('KAGE_UNKNOWN_AGENT', `Invalid \`${field}\`: unknown agent ${showValue(name)}; valid agents: ${valid.join(', ')}`,
      { field, details: { agent: name, validAgents: valid } });
  }
  return agents.get(id, field).id;
}

/**
 * The core task input for a validated body. An assignment's `context` is kept whole as `options.context`
 * and its keys are also spread into the options, so `{"behaviour": "fix"}` reaches the fake agent the way
 * `--option behaviour=fix` does on the CLI; `args` become `options.args`.
 */
export function toTaskInput(body: SubmitTaskBody, opts: { defaultRepo: string | null; keyPrefix: string | null; agents: AgentRegistry }): TaskInput {
  const repo = body.repo ?? opts.defaultRepo;
  if (!repo) {
    throw new KageError('KAGE_INVALID_INPUT',
      'Invalid `repo`: the request names no repository and the server has no default (start it with `--repo` or KAGE_REPO)', { field: 'repo' });
  }
  return {
    description: body.description,
    repo,
    baseRef: body.base_ref ?? null,
    checkCommand: body.check_command ?? null,
    setupCommand: body.setup_command ?? null,
    mergeStrategy: body.merge_strategy,
    maxRetries: body.max_retries,
    retryDelaySeconds: body.retry_delay,
    createdBy: body.created_by ?? (opts.keyPrefix ? `api-key-${opts.keyPrefix}` : null),
    tokenBudget: body.token_budget ?? null,
    usdBudget: body.usd_budget ?? null,
    ...(body.record !== undefined ? { record: body.record } : {}),
    clones: body.cli_assignments.map((a, i) => ({
      agent: resolveCliName(a.cli_name, opts.agents, i),
      model: a.model ?? null,
      ...(a.name ? { name: a.name } : {}),
      timeoutSeconds: a.timeout,
      options: { ...a.context, context: a.context, ...(a.args ? { args: a.args } : {}) },
    })),
  };
}
