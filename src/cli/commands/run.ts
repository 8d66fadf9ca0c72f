// `kage run`: creates a task, runs its clones in this process with live progress, prints the summary.
import { InvalidArgumentError, type Command } from 'commander';
import { isTerminalTask } from '../../domain/index.js';
import { followEvents } from '../../events/follow.js';
import type { Kage } from '../../main/app.js';
import { MAX_USD_BUDGET, parseAgentFlag } from '../../core/task-input.js';
import type { TaskView } from '../../core/task-service.js';
import { withKage, type GlobalFlags } from '../context.js';
import { createProgressView } from '../progress.js';
import { summary, taskJson } from '../render.js';
import { intOption } from '../options.js';

export interface RunOutput {
  json: boolean;
  out: NodeJS.WriteStream;
}

/** Creates the task, works on it until it is terminal, prints the result; returns the exit code. */
export async function runTaskAndWait(kage: Kage, input: Record<string, unknown>, output: RunOutput): Promise<number> {
  return workOnTask(kage, await kage.tasks.createTask(input), output);
}

/** Runs a created task's clones in this process until it is terminal, prints the result; returns the exit code. */
export async function workOnTask(kage: Kage, created: TaskView, output: RunOutput): Promise<number> {
  const { task, clones } = created;
  const concurrency = kage.config.concurrency ?? Math.min(clones.length, 8);
  if (!output.json) output.out.write(`Task ${task.id}: ${clones.length} clone(s) on ${task.baseRef} of ${task.repo}\n`);
  const view = output.json ? null : createProgressView(output.out, task.id);
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  let refreshing = false;
  const refresh = async (): Promise<void> => {
    if (refreshing) return;
    refreshing = true;
    try {
      const [t, cs] = await Promise.all([kage.ctx.store.getTask(task.id), kage.ctx.store.getClones(task.id)]);
      view?.update(cs, []);
      if (t && isTerminalTask(t.status)) finished();
    } finally {
      refreshing = false;
    }
  };
  const follower = await followEvents(kage.ctx.store, task.id, { onEvents: () => refresh(), pollMs: 1000 });
  const ticker = setInterval(() => void refresh(), 1000);

  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    output.out.write('\nCancelling the task (its agents are being stopped)...\n');
    void kage.tasks.cancelTask(task.id, 'interrupted').catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await kage.runtime.start(concurrency);
    await done;
    await kage.runtime.idle(kage.config.killGraceMs + 5_000);
  } finally {
    clearInterval(ticker);
    follower.stop();
    view?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const final = await kage.tasks.view(task.id);
  output.out.write(output.json ? `${JSON.stringify(taskJson(final.task, final.clones), null, 2)}\n` : `\n${summary(final.task, final.clones)}\n`);
  if (interrupted) return 130;
  return final.task.status === 'completed' ? 0 : final.task.status === 'needs_review' ? 3 : 1;
}

function usdOption(value: string): number {
  const usd = Number(value);
  if (value.trim() === '' || !Number.isFinite(usd) || usd <= 0 || usd > MAX_USD_BUDGET) {
    throw new InvalidArgumentError(`Expected --usd-budget above 0 and at most ${MAX_USD_BUDGET}, got "${value}"`);
  }
  return usd;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerRun(program: Command, globals: () => GlobalFlags): void {
  program
    .command('run')
    .description('Run a task with one clone per --agent in parallel worktrees, judge them and merge the best')
    .argument('<description>', 'the task for the agents (passed to them as data, never through a shell)')
    .option('--repo <path>', 'git repository to work on', '.')
    .option('--agent <id[:model]>', 'agent to run; repeat for more clones (default: fake)', collect, [])
    .option('--check <cmd>', 'check command run in every finished worktree (e.g. "npm test")')
    .option('--setup <cmd>', 'setup command run in each worktree before the agent (e.g. "npm ci")')
    .option('--base <branch>', 'base branch (default: BASE_BRANCH or the repo\'s current branch)')
    .option('--merge <strategy>', 'theirs | auto | manual', 'auto')
    .option('--timeout <seconds>', 'wall-clock timeout per clone', intOption('--timeout'))
    .option('--retries <n>', 'retries for transient failures', intOption('--retries'))
    .option('--retry-delay <seconds>', 'first retry delay; doubles per retry', intOption('--retry-delay'))
    .option('--option <key=value>', 'adapter option for every clone (e.g. behaviour=fix)', collect, [])
    .option('--concurrency <n>', 'clones run at once by this process', intOption('--concurrency'))
    .option('--usd-budget <usd>', 'USD all clones together may spend, enforced by the gateway (default: KAGE_USD_BUDGET)', usdOption)
    .option('--record', 'record every model request and answer (the gateway\'s flight recorder), for `kage replay` (default: KAGE_RECORD)')
    .option('--json', 'print the final task record as JSON')
    .action(async (description: string, flags) => {
      const agents: string[] = flags.agent.length > 0 ? flags.agent : ['fake'];
      const options = Object.fromEntries((flags.option as string[]).map((kv) => {
        const eq = kv.indexOf('=');
        return eq === -1 ? [kv, true] : [kv.slice(0, eq), kv.slice(eq + 1)];
      }));
      const input = {
        description,
        repo: flags.repo,
        baseRef: flags.base ?? null,
        checkCommand: flags.check ?? null,
        setupCommand: flags.setup ?? null,
        mergeStrategy: flags.merge,
        ...(flags.timeout !== undefined ? { timeoutSeconds: flags.timeout } : {}),
        ...(flags.retries !== undefined ? { maxRetries: flags.retries } : {}),
        ...(flags.retryDelay !== undefined ? { retryDelaySeconds: flags.retryDelay } : {}),
        ...(flags.usdBudget !== undefined ? { usdBudget: flags.usdBudget } : {}),
        ...(flags.record ? { record: true } : {}),
        clones: agents.map((a, i) => ({ ...parseAgentFlag(a, i), options })),
      };
      const overrides = flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {};
      process.exitCode = await withKage(globals(), { overrides }, (kage) =>
        runTaskAndWait(kage, input, { json: !!flags.json, out: process.stdout }));
    });
}
