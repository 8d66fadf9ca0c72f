// `kage demo`: a sample repo with a failing test, three fake clones (fix, wrong file, no change), judged
// by `npm test`, the winner merged with strategy `auto`. Needs nothing but Node and git.
import type { Command } from 'commander';
import { join } from 'node:path';
import { DEMO_CHECK_COMMAND, DEMO_TASK_DESCRIPTION } from '../../agents/demo-repo-files.js';
import { createDemoRepo } from '../../core/demo-repo.js';
import { withKage, type GlobalFlags } from '../context.js';
import { runTaskAndWait } from './run.js';

export function registerDemo(program: Command, globals: () => GlobalFlags): void {
  program
    .command('demo')
    .description('Run a self-contained demo: three fake agents race to fix a failing test; the winner is merged')
    .option('--json', 'print the final task record as JSON')
    .action(async (flags) => {
      process.exitCode = await withKage(globals(), {}, async (kage) => {
        const repo = await createDemoRepo(join(kage.config.home, 'demo', 'repo'));
        if (!flags.json) process.stdout.write(`Demo repository with a failing test: ${repo}\n`);
        const code = await runTaskAndWait(kage, {
          description: DEMO_TASK_DESCRIPTION,
          repo,
          checkCommand: DEMO_CHECK_COMMAND,
          mergeStrategy: 'auto',
          maxRetries: 0,
          timeoutSeconds: 120,
          clones: [
            { agent: 'fake', name: 'fake-fix', options: { behaviour: 'fix' } },
            { agent: 'fake', name: 'fake-wrong', options: { behaviour: 'wrong' } },
            { agent: 'fake', name: 'fake-noop', options: { behaviour: 'noop' } },
          ],
        }, { json: !!flags.json, out: process.stdout });
        if (!flags.json) process.stdout.write(`\nSee it: git -C ${repo} log --oneline --graph\n`);
        return code;
      });
    });
}
