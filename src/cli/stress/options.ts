// Options of `kage stress`, compiled once: flags, defaults, validation, frozen.
import { z } from 'zod';

export const STRESS_DEFAULTS = {
  tasks: 100,
  url: 'http://127.0.0.1:8003',
  agent: 'ollama',
  concurrency: 1,
  timeoutSeconds: 300,
  settleSeconds: 10,
} as const;

export interface StressOptions {
  tasks: number;
  /** Base URL of the server, without a trailing slash. */
  url: string;
  key: string;
  agent: string;
  /** Submissions in flight at once. */
  concurrency: number;
  /** Sent as the task's `repo`; null lets the server use its default repository. */
  repo: string | null;
  /** How long to wait, after the last submission, for every task to reach a terminal status. */
  timeoutMs: number;
  /** Window after the tasks end over which the last six samples are spread. */
  settleMs: number;
}

const schema = z.object({
  tasks: z.number().int().min(1).max(100_000),
  url: z.url({ protocol: /^https?$/ }),
  key: z.string().min(1),
  agent: z.string().min(1).max(64),
  concurrency: z.number().int().min(1).max(256),
  repo: z.string().min(1).nullable(),
  timeoutSeconds: z.number().min(1).max(86_400),
  settleSeconds: z.number().min(0).max(3600),
});

export type RawStressOptions = z.input<typeof schema>;

/** Flag names as the user typed them, for error messages. */
const FLAGS: Record<string, string> = {
  tasks: '--tasks', url: '--url', key: '--key', agent: '--agent', concurrency: '--concurrency', repo: '--repo',
  timeoutSeconds: '--timeout-seconds', settleSeconds: '--settle-seconds',
};

export class StressOptionsError extends Error {}

export function compileStressOptions(raw: RawStressOptions): Readonly<StressOptions> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    const given = (raw as Record<string, unknown>)[field];
    throw new StressOptionsError(`Invalid \`${FLAGS[field] ?? field}\`: ${issue?.message ?? 'invalid'}, got ${JSON.stringify(given)}`);
  }
  const o = parsed.data;
  return Object.freeze({
    tasks: o.tasks,
    url: o.url.replace(/\/+$/, ''),
    key: o.key,
    agent: o.agent,
    concurrency: o.concurrency,
    repo: o.repo,
    timeoutMs: Math.round(o.timeoutSeconds * 1000),
    settleMs: Math.round(o.settleSeconds * 1000),
  });
}
