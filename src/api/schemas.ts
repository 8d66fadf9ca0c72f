// Request and response schemas of the HTTP API (zod). The same schemas validate requests and generate the
// OpenAPI document. Field names, defaults and limits of the submit body are v1's; unknown fields are ignored.
import { z } from 'zod';
import { MAX_CLONES, MAX_DESCRIPTION_CHARS, MAX_USD_BUDGET } from '../core/task-input.js';

/** C0 control characters other than tab, newline and carriage return, and DEL. */
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const CLONE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Event ids are PostgreSQL bigints. */
const MAX_EVENT_ID = 9_223_372_036_854_775_807n;

export const V1_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
/** kage's finer states, accepted by the list filter too. */
export const KAGE_ONLY_STATUSES = ['judging', 'merging', 'needs_review'] as const;
export const MERGE_STRATEGIES = ['theirs', 'auto', 'manual'] as const;

const text = (max: number) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const cliAssignmentSchema = z.object({
  cli_name: text(64).describe('Agent id (`fake`, `shell`, ...) or a v1 name (`claude-code`, `gemini`, `ollama`)'),
  context: z.record(z.string(), z.unknown()).default({})
    .describe('Free-form options for the agent; its keys are also passed as the clone\'s options (e.g. `{"behaviour":"fix"}` for `fake`)'),
  timeout: z.number().int('must be a whole number of seconds').min(60, 'must be at least 60 seconds').max(3600, 'must be at most 3600 seconds')
    .default(600).describe('Wall-clock timeout of one attempt, seconds'),
  model: text(200).nullable().optional().describe('Model name passed to the agent'),
  name: z.string().regex(CLONE_NAME, 'must be 1-40 letters, digits, dot, dash or underscore, starting with a letter or digit')
    .nullable().optional().describe('Clone name, unique in the task (default: the agent id, then `-2`, `-3`)'),
  args: z.array(z.string().max(10_000, 'must be at most 10000 characters')).max(100, 'must have at most 100 items').optional()
    .describe('Extra command-line arguments for the agent'),
});

export const submitTaskSchema = z.object({
  description: z.string()
    .min(10, 'must be at least 10 characters')
    .max(MAX_DESCRIPTION_CHARS, `must be at most ${MAX_DESCRIPTION_CHARS} characters`)
    .refine((s) => s.trim().length > 0, 'must not be blank')
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters other than tab, newline and carriage return')
    .describe('What the agents should do'),
  cli_assignments: z.array(cliAssignmentSchema).min(1, 'must have at least 1 item').max(MAX_CLONES, `must have at most ${MAX_CLONES} items`)
    .describe('One clone per item'),
  max_retries: z.number().int('must be a whole number').min(0, 'must be at least 0').max(5, 'must be at most 5').default(3),
  retry_delay: z.number().min(1, 'must be at least 1 second').max(60, 'must be at most 60 seconds').default(5)
    .describe('First retry delay, seconds; doubles per retry'),
  merge_strategy: z.enum(MERGE_STRATEGIES).default('theirs'),
  created_by: z.string().max(255, 'must be at most 255 characters').nullable().optional()
    .describe('Default: `api-key-` and the first 8 characters of the API key'),
  repo: text(4096).nullable().optional().describe('Repository path (default: the server\'s `--repo`)'),
  base_ref: text(255).nullable().optional().describe('Base branch (default: the repository\'s current branch)'),
  check_command: text(10_000).nullable().optional().describe('Command run in each worktree to judge the result'),
  setup_command: text(10_000).nullable().optional().describe('Command run in each worktree before the agent'),
  token_budget: z.number().int('must be a whole number').positive('must be positive').max(Number.MAX_SAFE_INTEGER).nullable().optional()
    .describe('Tokens all clones together may use, enforced by the gateway (default: its KAGE_TOKEN_BUDGET)'),
  usd_budget: z.number().positive('must be positive').max(MAX_USD_BUDGET, `must be at most ${MAX_USD_BUDGET}`).nullable().optional()
    .describe('USD all clones together may spend, by the gateway\'s price table, enforced like the token budget (default: its KAGE_USD_BUDGET)'),
  record: z.boolean().optional()
    .describe('Record every model request and answer of the clones (the gateway\'s flight recorder), so the task can be replayed; default KAGE_RECORD'),
});

export type SubmitTaskBody = z.output<typeof submitTaskSchema>;

export const replayTaskSchema = z.object({
  merge_strategy: z.enum(MERGE_STRATEGIES).optional().describe('Default: the recorded task\'s strategy'),
  created_by: z.string().max(255, 'must be at most 255 characters').nullable().optional()
    .describe('Default: `api-key-` and the first 8 characters of the API key'),
}).optional();

export const taskIdParams = z.object({
  id: z.string().regex(UUID, 'must be a UUID').describe('Task id'),
});

export const cloneParams = taskIdParams.extend({
  name: z.string().min(1).max(64).describe('Clone name (or its agent id)'),
});

export const listTasksQuery = z.object({
  status: z.union([z.literal(''), z.enum(V1_STATUSES), z.enum(KAGE_ONLY_STATUSES)]).optional()
    .describe('v1 status (`running` includes judging and merging, `completed` includes needs_review), or a kage status'),
  page: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(1),
  page_size: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(50),
});

export const mergeQuery = z.object({
  strategy: z.enum(MERGE_STRATEGIES).optional().describe('Default: the task\'s strategy'),
  cli_name: text(64).optional().describe('Clone name or agent id (default: the judge\'s best clone)'),
});

export const conflictsQuery = z.object({
  cli_name: text(64).optional().describe('Clone name or agent id (default: the judge\'s best clone)'),
});

export const eventsQuery = z.object({
  after: z.string().regex(/^\d{1,19}$/, 'must be an event id (a non-negative integer)')
    .refine((s) => !/^\d{1,19}$/.test(s) || BigInt(s) <= MAX_EVENT_ID, 'must be at most 9223372036854775807').default('0'),
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(500),
});

// ---- responses ----

const isoDate = z.string().nullable();

export const cliResultSchema = z.object({
  cli_name: z.string(),
  name: z.string(),
  status: z.enum(['success', 'failure', 'timeout', 'cancelled', 'blocked']),
  files_modified: z.array(z.string()),
  cost: z.number(),
  duration: z.number().describe('Seconds'),
  retries: z.number(),
  error: z.string().nullable(),
});

const usageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
});

const meteredSchema = usageSchema.extend({
  requests: z.number(),
  costUsd: z.number(),
  errors: z.number().describe('Requests that did not succeed: an error status, no answer, or refused by kage (budget, rate limit)'),
}).nullable().describe('What the LLM gateway metered, over every attempt; null when it metered no request');

export const cloneSummarySchema = z.object({
  name: z.string(),
  agent: z.string(),
  model: z.string().nullable(),
  status: z.string(),
  attempt: z.number(),
  retries: z.number(),
  branch: z.string(),
  files_modified: z.array(z.string()),
  insertions: z.number(),
  deletions: z.number(),
  tokens: usageSchema.describe('The gateway\'s metered tokens when it metered the clone, else the agent\'s own report (`usage_source`)'),
  cost: z.number(),
  usage_source: z.enum(['gateway', 'agent']),
  reported_tokens: usageSchema.describe('What the agent\'s own output reported (its latest attempt)'),
  reported_cost: z.number(),
  metered: meteredSchema,
  duration: z.number(),
  check_status: z.string().nullable(),
  score: z.number().nullable(),
  rank: z.number().nullable(),
  reason: z.string().nullable(),
  error: z.string().nullable(),
  last_event: z.string().nullable(),
});

export const taskResponseSchema = z.object({
  id: z.string(),
  description: z.string(),
  status: z.enum(V1_STATUSES),
  created_at: isoDate,
  updated_at: isoDate,
  started_at: isoDate,
  completed_at: isoDate,
  cli_results: z.array(cliResultSchema).nullable(),
  success_count: z.number(),
  failure_count: z.number(),
  total_cost: z.number(),
  total_duration: z.number(),
  best_cli: z.string().nullable().describe('The judge\'s best clone'),
  error: z.string().nullable(),
  kage_status: z.string(),
  repo: z.string(),
  base_ref: z.string(),
  merge_strategy: z.enum(MERGE_STRATEGIES),
  merge_status: z.string(),
  merge_commit: z.string().nullable(),
  merge_branch: z.string().nullable(),
  created_by: z.string().nullable(),
  token_budget: z.number().nullable(),
  usd_budget: z.number().nullable().describe('The task\'s own USD budget; null: the gateway\'s default'),
  record: z.boolean().describe('The clones\' model traffic is recorded by the flight recorder'),
  replay_of: z.string().nullable().describe('The recorded task this one replays; null for a task that is no replay'),
  tokens: usageSchema.describe('The clones\' `tokens`, summed'),
  metered: meteredSchema,
  clones: z.array(cloneSummarySchema),
});

export const taskListSchema = z.object({
  tasks: z.array(taskResponseSchema),
  total: z.number(),
  page: z.number(),
  page_size: z.number(),
});

/** Errors keep any extra fields they carry (`valid_agents`, `alternative`), so the schema is open. */
export const errorSchema = z.looseObject({
  detail: z.union([z.string(), z.array(z.looseObject({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() }))])
    .describe('v1\'s field: a message, or the list of invalid fields'),
  code: z.string().describe('Stable error code (KAGE_*)'),
  message: z.string(),
  field: z.string().optional().describe('The input field the error is about'),
  request_id: z.string().optional(),
  valid_agents: z.array(z.string()).optional(),
  alternative: z.string().optional(),
});

export const cancelResponseSchema = z.object({
  message: z.string(),
  task_id: z.string(),
  status: z.literal('cancelled'),
});

export const mergeResponseSchema = z.object({
  task_id: z.string(),
  strategy: z.enum(MERGE_STRATEGIES),
  success: z.boolean(),
  merged_files: z.array(z.string()),
  conflicts: z.array(z.string()),
  commit_hash: z.string().nullable(),
  message: z.string(),
  cli_name: z.string(),
  merge_status: z.string(),
  branch: z.string().nullable(),
});

export const conflictsResponseSchema = z.object({
  task_id: z.string(),
  cli_name: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  can_auto_merge: z.boolean(),
  conflicts: z.array(z.string()),
  files_changed: z.array(z.string()),
  message: z.string(),
});

export const statsResponseSchema = z.object({
  running_tasks: z.number().describe('Tasks in v1 status running (kage: running, judging, merging)'),
  running_clones: z.number(),
  waiting_clones: z.number().describe('Clones queued or waiting to retry'),
  total_tasks: z.number(),
  agents: z.array(z.object({
    cli_name: z.string(),
    total: z.number(),
    succeeded: z.number(),
    running: z.number(),
    tokens: z.number(),
    cost: z.number(),
  })),
});

export const eventSchema = z.object({
  id: z.string(),
  type: z.string(),
  clone_id: z.string().nullable(),
  clone: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export const cloneDetailSchema = cloneSummarySchema.extend({
  task_id: z.string(),
  head_commit: z.string().nullable(),
  exit_code: z.number().nullable(),
  exit_signal: z.string().nullable(),
  started_at: isoDate,
  finished_at: isoDate,
  check_output: z.string().nullable(),
  diff: z.string().nullable().describe('Unified diff against the task\'s base commit; null when the clone has no commit'),
  diff_truncated: z.boolean(),
  events: z.array(eventSchema),
});

export const rankingResponseSchema = z.object({
  task_id: z.string(),
  best_cli: z.string().nullable(),
  ranking: z.array(z.object({
    rank: z.number().nullable(),
    name: z.string(),
    agent: z.string(),
    status: z.string(),
    check_status: z.string().nullable(),
    score: z.number().nullable(),
    reason: z.string().nullable(),
  })),
});

export const streamTokenResponseSchema = z.object({
  token: z.string(),
  expires_at: z.string(),
  url: z.string().describe('The progress stream URL with the token; open it with EventSource'),
});

export const agentsResponseSchema = z.object({
  agents: z.array(z.object({
    id: z.string(),
    aliases: z.array(z.string()),
    description: z.string(),
    supports_resume: z.boolean(),
    kind: z.enum(['cli', 'api', 'builtin']).describe('an installed CLI, kage\'s own API worker, or built in'),
    usable: z.boolean().describe('whether a clone with this agent can start on this server'),
    binary: z.string().nullable(),
    binary_source: z.enum(['config', 'path', 'kage']).nullable().describe('the config\'s `bin`, PATH, or `kage agents install`'),
    version: z.string().nullable(),
    pinned_version: z.string().nullable().describe('the version kage is tested with'),
    provider: z.enum(['anthropic', 'openai', 'gemini', 'ollama']).nullable(),
    endpoint: z.string().nullable(),
    api_key_set: z.boolean().nullable(),
    auth: z.enum(['gateway', 'passthrough']).nullable()
      .describe('`gateway`: a per-clone token, kage adds the key; `passthrough`: the agent\'s own key or login; null without a model'),
    own_credentials: z.array(z.string()).nullable().describe('in passthrough, the credentials of its own the agent has'),
    problems: z.array(z.string()),
    fix: z.string().nullable(),
  })),
  checked_at: z.string().describe('when the agents were last checked (cached for a minute; `?refresh=true` checks now)'),
  v1_aliases: z.record(z.string(), z.string()),
  removed: z.record(z.string(), z.string()),
});

export const serviceInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  api_version: z.literal('v1'),
  docs: z.string(),
  openapi: z.string(),
  endpoints: z.record(z.string(), z.string()),
});

export const healthSchema = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  store: z.enum(['ok', 'unreachable']),
  pid: z.number(),
  version: z.string(),
  uptime_seconds: z.number(),
  running_clones: z.number(),
});

export const systemSchema = z.object({
  pid: z.number().int().describe('The server process id (for sampling it from the same machine)'),
  started_at: z.string().describe('When the server process started, ISO-8601 UTC'),
  uptime_s: z.number(),
  rss_bytes: z.number().int().describe('Resident set size of the server process'),
  kage_home: z.string(),
  worktrees_on_disk: z.number().int().describe('Clone worktree directories under KAGE_HOME/worktrees'),
  running_clones: z.number().int().describe('Clones this process is working on now'),
  queue_depth: z.number().int().nullable().describe('Clone jobs waiting in the queue; null when the queue cannot be read'),
  db_connections: z.number().int().nullable()
    .describe('Connections to the database from every client (pg_stat_activity); null when the store cannot be read'),
  version: z.string(),
});
