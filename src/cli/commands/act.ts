// Commands that change things: `kage merge`, `kage cancel`, `kage clean`, `kage worker`, `kage db`.
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTerminalTask } from '../../domain/index.js';
import { deleteBranch, runGit } from '../../workspace/git.js';
import { PgRecordingStore } from '../../store/recording-store.js';
import { embeddedPostgresStatus, stopEmbeddedPostgres } from '../../store/embedded-postgres.js';
import { configFrom, withKage, type GlobalFlags } from '../context.js';
import { mergeLine, shortId } from '../render.js';
import { intOption } from '../options.js';

export function registerActions(program: Command, globals: () => GlobalFlags): void {
  program
    .command('merge')
    .description('Merge a finished task\'s best clone (or --clone) into its base branch')
    .argument('<id>', 'task id or unique prefix')
    .option('--clone <name>', 'clone to merge (default: the judge\'s best)')
    .option('--strategy <strategy>', 'theirs | auto (default: the task\'s, auto for manual tasks)')
    .option('--json', 'print JSON')
    .action(async (id: string, flags) => {
      await withKage(globals(), { queue: false }, async (kage) => {
        const task = await kage.tasks.resolveTask(id);
        const { task: after, result } = await kage.tasks.mergeTask(task.id, { clone: flags.clone ?? null, strategy: flags.strategy ?? null });
        if (flags.json) process.stdout.write(`${JSON.stringify({ task: after, merge: result }, null, 2)}\n`);
        else process.stdout.write(`${mergeLine(after)}\n`);
        if (result.status === 'conflicts' || result.status === 'failed') process.exitCode = 3;
      });
    });

  program
    .command('cancel')
    .description('Cancel a task: kill every clone\'s process group and mark it cancelled')
    .argument('<id>', 'task id or unique prefix')
    .action(async (id: string) => {
      await withKage(globals(), { queue: false }, async (kage) => {
        const task = await kage.tasks.resolveTask(id);
        const { clones } = await kage.tasks.cancelTask(task.id);
        process.stdout.write(`Task ${task.id} cancelled (${clones.length} clone(s)).\n`);
      });
    });

  program
    .command('clean')
    .description('Delete branches, worktrees and agent homes of finished tasks (merged results are kept in your branch)')
    .option('--dry-run', 'only list what would be removed')
    .option('--recordings', 'also delete the flight recordings of finished tasks (`kage replay` needs them)')
    .action(async (flags) => {
      await withKage(globals(), { queue: false }, async (kage) => {
        const { store, worktrees } = kage.ctx;
        const active = await store.activeClones();
        const known = new Set(active.map((c) => c.worktree).filter((p): p is string => !!p));
        const activeTasks = new Set((await store.unfinishedTasks()).map((t) => shortId(t.id)));
        const swept = flags.dryRun ? [] : await worktrees.sweepOrphans(known, activeTasks);
        const recordings = new PgRecordingStore(store.pool);
        let branches = 0;
        let exchanges = 0;
        let offset = 0;
        for (;;) {
          const { tasks } = await store.listTasks({ limit: 100, offset });
          if (tasks.length === 0) break;
          offset += tasks.length;
          for (const task of tasks.filter((t) => isTerminalTask(t.status))) {
            const list = await runGit(['for-each-ref', '--format=%(refname:short)', `refs/heads/kage/${shortId(task.id)}/`],
              { cwd: task.repo, allowFail: true });
            for (const branch of list.stdout.split('\n').filter(Boolean)) {
              if (branch.endsWith('/merged')) continue; // a merge result the user has not taken yet
              if (flags.dryRun) process.stdout.write(`would delete ${branch} in ${task.repo}\n`);
              else if (await deleteBranch(task.repo, branch).catch(() => false)) branches++;
            }
            if (!flags.dryRun) {
              for (const clone of await store.getClones(task.id)) {
                await rm(join(kage.config.home, 'homes', clone.id), { recursive: true, force: true });
              }
            }
            if (flags.recordings && task.record) {
              if (flags.dryRun) process.stdout.write(`would delete the recording of task ${task.id}\n`);
              else exchanges += await recordings.deleteRecordings(task.id);
            }
          }
        }
        if (!flags.dryRun) {
          const recorded = flags.recordings ? ` and ${exchanges} recorded exchange(s)` : '';
          process.stdout.write(`Removed ${branches} branch(es), ${swept.length} orphan worktree(s)${recorded}.\n`);
        }
      });
    });

  program
    .command('worker')
    .description('Run clone jobs from the queue (any task) until interrupted')
    .option('--concurrency <n>', 'clone jobs at once', intOption('--concurrency'))
    .option('--exit-when-idle', 'stop once no job is queued or running')
    .action(async (flags) => {
      await withKage(globals(), {}, async (kage) => {
        const concurrency = flags.concurrency ?? kage.config.concurrency ?? 4;
        const report = await kage.runtime.start(concurrency);
        if (report) {
          process.stderr.write(`Recovered: ${report.requeued.length} clone(s) requeued, ${report.failed.length} failed, ` +
            `${report.finalized.length} task(s) finalized, ${report.sweptWorktrees.length} orphan worktree(s) removed.\n`);
        }
        let stop!: () => void;
        const stopped = new Promise<void>((r) => (stop = r));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (flags.exitWhenIdle) {
          const poll = setInterval(async () => {
            const unfinished = await kage.ctx.store.unfinishedTasks();
            if (kage.runtime.runningCount() === 0 && (await kage.ctx.queue.depth()) === 0 &&
              unfinished.every((t) => t.status === 'pending' || t.status === 'running') &&
              (await kage.ctx.store.activeClones()).filter((c) => c.status !== 'retrying').length === 0) stop();
          }, 500);
          await stopped;
          clearInterval(poll);
        } else {
          await stopped;
        }
      });
    });

  const db = program.command('db').description('The embedded PostgreSQL server under KAGE_HOME');
  db.command('status').description('Show whether it is initialised and running').action(async () => {
    const config = configFrom(globals());
    const status = await embeddedPostgresStatus({ home: config.home, binDir: config.pgBinDir });
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  });
  db.command('stop').description('Stop it (kage starts it again when needed)').action(async () => {
    const config = configFrom(globals());
    const was = await stopEmbeddedPostgres({ home: config.home, binDir: config.pgBinDir });
    process.stdout.write(was ? 'Stopped.\n' : 'It was not running.\n');
  });
}
