// `kage replay`: runs a recorded task again as a new task whose clones' model traffic is answered from the
// flight recording (no provider is reached), then judges and merges it as usual, with live progress.
import type { Command } from 'commander';
import { KageError, showValue, type MergeStrategy } from '../../domain/index.js';
import { withKage, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';
import { workOnTask } from './run.js';

const MERGE_STRATEGIES: readonly MergeStrategy[] = ['theirs', 'auto', 'manual'];

function mergeStrategy(value: string | undefined): MergeStrategy | null {
  if (value === undefined) return null;
  if (!MERGE_STRATEGIES.includes(value as MergeStrategy)) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`--merge\` to be one of ${MERGE_STRATEGIES.join(', ')}, got ${showValue(value)}`, { field: 'merge' });
  }
  return value as MergeStrategy;
}

export function registerReplay(program: Command, globals: () => GlobalFlags): void {
  program
    .command('replay')
    .description('Run a recorded task (`kage run --record`) again from its recording, without the model provider, and judge it anew')
    .argument('<id>', 'task id or unique prefix of the recorded task')
    .option('--merge <strategy>', 'theirs | auto | manual (default: the recorded task\'s)')
    .option('--concurrency <n>', 'clones run at once by this process', intOption('--concurrency'))
    .option('--json', 'print the final task record as JSON')
    .action(async (id: string, flags) => {
      const strategy = mergeStrategy(flags.merge);
      const overrides = flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {};
      process.exitCode = await withKage(globals(), { overrides }, async (kage) => {
        const source = await kage.tasks.resolveTask(id);
        const created = await kage.tasks.replayTask(source.id, { mergeStrategy: strategy });
        if (!flags.json) process.stdout.write(`Replaying task ${source.id} from its recording\n`);
        return workOnTask(kage, created, { json: !!flags.json, out: process.stdout });
      });
    });
}
