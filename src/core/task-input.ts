// Validates a task request (from the CLI or, later, the API) into a TaskSpec. Messages name the field.
import { z } from 'zod';
import { KageError, showValue, type TaskSpec } from '../domain/index.js';

/** C0 control characters other than tab, newline and carriage return, and DEL. */
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const CLONE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
export const MAX_DESCRIPTION_CHARS = 100_000;
export const MAX_CLONES = 16;
/** The largest USD budget a task may name. */
export const MAX_USD_BUDGET = 1_000_000;

const cloneInput = z.object({
  agent: z.string().min(1).max(64),
  model: z.string().min(1).max(200).nullable().optional(),
  name: z.string().regex(CLONE_NAME, 'must be 1-40 letters, digits, dot, dash or underscore, starting with a letter or digit').optional(),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

export const taskInputSchema = z.object({
  description: z
    .string()
    .min(1)
    .max(MAX_DESCRIPTION_CHARS)
    .refine((s) => s.trim().length > 0, 'must not be blank')
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters'),
  repo: z.string().min(1).max(4096),
  baseRef: z.string().min(1).max(255).nullable().optional(),
  checkCommand: z.string().min(1).max(10_000).nullable().optional(),
  setupCommand: z.string().min(1).max(10_000).nullable().optional(),
  mergeStrategy: z.enum(['theirs', 'auto', 'manual']).optional(),
  maxRetries: z.number().int().min(0).max(10).optional(),
  retryDelaySeconds: z.number().min(0).max(600).optional(),
  checkTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  createdBy: z.string().max(255).nullable().optional(),
  tokenBudget: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  usdBudget: z.number().positive().max(MAX_USD_BUDGET).nullable().optional(),
  record: z.boolean().optional(),
  clones: z.array(cloneInput).min(1).max(MAX_CLONES),
});

export type TaskInput = z.input<typeof taskInputSchema>;

export interface TaskDefaults {
  timeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
  checkTimeoutMs: number;
  /** Whether a task that does not say records its model traffic (default false). */
  record?: boolean;
}

/** Throws KAGE_INVALID_INPUT naming the first bad field. Agent ids are checked later, against the registry. */
export function parseTaskInput(input: unknown, defaults: TaskDefaults): TaskSpec {
  const parsed = taskInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(body)';
    const value = issue.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as any)[k as any] : undefined), input);
    throw new KageError('KAGE_INVALID_INPUT', `Invalid \`${field}\`: ${issue.message}${value === undefined ? '' : `, got ${showValue(value)}`}`, { field });
  }
  const t = parsed.data;
  const names = new Map<string, number>();
  const clones = t.clones.map((c, i) => {
    let name = c.name;
    if (!name) {
      const base = c.agent.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 32);
      const seen = (names.get(base) ?? 0) + 1;
      names.set(base, seen);
      name = seen === 1 ? base : `${base}-${seen}`;
    }
    return { name, index: i, c };
  });
  const taken = new Set<string>();
  for (const { name, index } of clones) {
    if (taken.has(name)) {
      throw new KageError('KAGE_INVALID_INPUT', `Invalid \`clones[${index}].name\`: ${showValue(name)} is used by another clone`, { field: `clones[${index}].name` });
    }
    taken.add(name);
  }
  return {
    description: t.description,
    repo: t.repo,
    baseRef: t.baseRef ?? null,
    checkCommand: t.checkCommand ?? null,
    setupCommand: t.setupCommand ?? null,
    mergeStrategy: t.mergeStrategy ?? 'auto',
    maxRetries: t.maxRetries ?? defaults.maxRetries,
    retryDelayMs: t.retryDelaySeconds !== undefined ? Math.round(t.retryDelaySeconds * 1000) : defaults.retryDelayMs,
    checkTimeoutMs: t.checkTimeoutSeconds !== undefined ? t.checkTimeoutSeconds * 1000 : defaults.checkTimeoutMs,
    createdBy: t.createdBy ?? null,
    tokenBudget: t.tokenBudget ?? null,
    usdBudget: t.usdBudget ?? null,
    record: t.record ?? defaults.record ?? false,
    clones: clones.map(({ name, c }) => ({
      name,
      agent: c.agent,
      model: c.model ?? null,
      timeoutMs: (c.timeoutSeconds ?? t.timeoutSeconds ?? defaults.timeoutMs / 1000) * 1000,
      options: c.options ?? {},
    })),
  };
}

/** Parses `--agent id[:model]` values. */
export function parseAgentFlag(value: string, index: number): { agent: string; model: string | null } {
  const at = value.indexOf(':');
  const agent = (at === -1 ? value : value.slice(0, at)).trim();
  const model = at === -1 ? null : value.slice(at + 1).trim() || null;
  if (!agent) {
    throw new KageError('KAGE_INVALID_INPUT', `Invalid \`--agent\` #${index + 1}: expected <id>[:<model>], got ${showValue(value)}`, { field: 'agent' });
  }
  return { agent, model };
}
