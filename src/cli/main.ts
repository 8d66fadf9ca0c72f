#!/usr/bin/env node
// The `kage` command line.
import { Command, CommanderError } from 'commander';
import { isKageError } from '../domain/index.js';
import type { GlobalFlags } from './context.js';
import { registerActions } from './commands/act.js';
import { registerAgents } from './commands/agents.js';
import { registerDemo } from './commands/demo.js';
import { registerGateway } from './commands/gateway.js';
import { registerInspect } from './commands/inspect.js';
import { registerMockModel } from './commands/mock-model.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServe } from './commands/serve.js';
import { registerStress } from './commands/stress.js';

const program = new Command();
program
  .name('kage')
  .description('Kage Bunshin: run several coding agents on one task in parallel git worktrees, judge, merge the best')
  .version('0.1.0')
  .option('--home <dir>', 'kage data directory (default: KAGE_HOME or ~/.kage)')
  .option('--database-url <url>', 'use this PostgreSQL server instead of the embedded one (default: DATABASE_URL)')
  .showHelpAfterError()
  .exitOverride();

const globals = (): GlobalFlags => program.opts<GlobalFlags>();
registerDemo(program, globals);
registerRun(program, globals);
registerReplay(program, globals);
registerInspect(program, globals);
registerActions(program, globals);
registerServe(program, globals);
registerSecrets(program, globals);
registerStress(program, globals);
registerMockModel(program);
registerAgents(program, globals);
registerGateway(program, globals);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (isKageError(err)) {
    process.stderr.write(`kage: ${err.message} [${err.code}]\n`);
    process.exitCode = err.httpStatus < 500 ? 2 : 1;
  } else {
    process.stderr.write(`kage: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
