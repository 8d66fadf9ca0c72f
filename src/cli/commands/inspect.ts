// Read-only commands: `kage status`, `kage show`, `kage diff`, `kage logs`.
import type { Command } from 'commander';
import type { EventRecord } from '../../domain/index.js';
import { KageError, showValue } from '../../domain/index.js';
import { followEvents } from '../../events/follow.js';
import { runGit } from '../../workspace/git.js';
import { withKage, type GlobalFlags } from '../context.js';
import { shortId, summary, table, taskJson } from '../render.js';
import { intOption } from '../options.js';

const READ_ONLY = { queue: false } as const;

export function registerInspect(program: Command, globals: () => GlobalFlags): void {
  program
    .command('status')
    .description('List recent tasks, or show one task\'s clones')
    .argument('[id]', 'task id or unique prefix')
    .option('--limit <n>', 'tasks to list', intOption('--limit'), 20)
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, flags) => {
      await withKage(globals(), READ_ONLY, async (kage) => {
        if (id) {
          const task = await kage.tasks.resolveTask(id);
          const { clones } = await kage.tasks.view(task.id);
          if (flags.json) return print(JSON.stringify(taskJson(task, clones), null, 2));
          print(`Task ${task.id}  ${task.status}  merge ${task.mergeStatus}`);
          print(table(['clone', 'status', 'attempt', 'latest'], clones.map((c) => [c.name, c.status, String(c.attempt + 1), c.lastEvent ?? '-'])));
          return;
        }
        const { tasks, total } = await kage.ctx.store.listTasks({ limit: flags.limit, offset: 0 });
        if (flags.json) return print(JSON.stringify({ tasks, total }, null, 2));
        if (tasks.length === 0) return print('No tasks yet. Try `kage demo`.');
        print(table(['id', 'status', 'best', 'merge', 'created', 'description'], tasks.map((t) => [
          shortId(t.id), t.status, t.bestClone ?? '-', t.mergeStatus, t.createdAt.toISOString().replace('T', ' ').slice(0, 19),
          t.description.replace(/\s+/g, ' ').slice(0, 50),
        ])));
        if (total > tasks.length) print(`(${tasks.length} of ${total})`);
      });
    });

  program
    .command('show')
    .description('Show a task: clones, ranking, check results and merge')
    .argument('<id>', 'task id or unique prefix')
    .option('--json', 'print JSON')
    .action(async (id: string, flags) => {
      await withKage(globals(), READ_ONLY, async (kage) => {
        const task = await kage.tasks.resolveTask(id);
        const { clones } = await kage.tasks.view(task.id);
        if (flags.json) return print(JSON.stringify(taskJson(task, clones), null, 2));
        print(summary(task, clones));
        for (const c of clones) {
          if (c.checkOutput && c.checkStatus !== 'passed') print(`\n--- check output of ${c.name} (${c.checkStatus}) ---\n${c.checkOutput.slice(-1500)}`);
        }
      });
    });

  program
    .command('diff')
    .description('Show the diff a clone made against the task\'s base commit')
    .argument('<id>', 'task id or unique prefix')
    .argument('<clone>', 'clone name')
    .option('--stat', 'only the summary')
    .action(async (id: string, name: string, flags) => {
      await withKage(globals(), READ_ONLY, async (kage) => {
        const task = await kage.tasks.resolveTask(id);
        const { clones } = await kage.tasks.view(task.id);
        const clone = clones.find((c) => c.name === name);
        if (!clone) {
          throw new KageError('KAGE_CLONE_NOT_FOUND', `Task ${shortId(task.id)} has no clone ${showValue(name)}; clones: ${clones.map((c) => c.name).join(', ')}`, { field: 'clone' });
        }
        const head = clone.headCommit ?? clone.branch;
        const args = ['diff', ...(flags.stat ? ['--stat'] : []), task.baseCommit, head, '--'];
        const out = await runGit(args, { cwd: task.repo, allowFail: true });
        if (out.code !== 0) {
          throw new KageError('KAGE_GIT_FAILED', `Cannot diff ${clone.name}: ${out.stderr.trim() || 'its branch is gone (merged or cleaned)'}`);
        }
        process.stdout.write(out.stdout || `(${clone.name} changed nothing)\n`);
      });
    });

  program
    .command('logs')
    .description('Print a task\'s events; --follow keeps printing until the task ends')
    .argument('<id>', 'task id or unique prefix')
    .option('-f, --follow', 'wait for new events')
    .option('--json', 'one JSON object per line')
    .action(async (id: string, flags) => {
      await withKage(globals(), READ_ONLY, async (kage) => {
        const task = await kage.tasks.resolveTask(id);
        const names = new Map((await kage.ctx.store.getClones(task.id)).map((c) => [c.id, c.name]));
        const write = (events: EventRecord[]): void => {
          for (const e of events) print(flags.json ? JSON.stringify(e) : formatEvent(e, names));
        };
        if (!flags.follow) {
          let after = '0';
          for (;;) {
            const batch = await kage.ctx.store.listEvents(task.id, after, 1000);
            write(batch);
            if (batch.length < 1000) break;
            after = batch[batch.length - 1]!.id;
          }
          return;
        }
        let finished = false;
        const follower = await followEvents(kage.ctx.store, task.id, {
          onEvents: async (events) => {
            write(events);
            if (events.some((e) => e.type === 'task_finished' || e.type === 'task_cancelled')) finished = true;
            if (finished) follower.stop();
          },
          pollMs: 1000,
        });
        const stopOnSignal = (): void => follower.stop();
        process.once('SIGINT', stopOnSignal);
        await follower.done;
        process.off('SIGINT', stopOnSignal);
      });
    });
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function formatEvent(e: EventRecord, names: Map<string, string>): string {
  const time = e.createdAt.toISOString().slice(11, 23);
  const who = e.cloneId ? names.get(e.cloneId) ?? e.cloneId.slice(0, 8) : 'task';
  const { name: _name, ...rest } = e.payload as Record<string, unknown>;
  let detail = JSON.stringify(rest);
  if (detail.length > 200) detail = `${detail.slice(0, 197)}...`;
  return `${e.id.padStart(6)} ${time} ${who.padEnd(14)} ${e.type.padEnd(18)} ${detail === '{}' ? '' : detail}`;
}

