// `kage stress`: v1's memory stress test done right, against a running `kage serve`. The server's pid
// comes from the server itself (`GET /api/v1/system`), so it is the server that is measured.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { API_KEY_FILE } from '../../api/auth.js';
import { configFrom, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';
import { createStressHttp } from '../stress/http.js';
import { compileStressOptions, STRESS_DEFAULTS, StressOptionsError } from '../stress/options.js';
import { buildReport, renderReport, RSS_LEAK_MB, RSS_MODERATE_MB } from '../stress/report.js';
import { runStress, StressAbort } from '../stress/run.js';

/** Exit code when the run could not start: server unreachable or unhealthy, no key, bad flags. */
const EXIT_CANNOT_RUN = 2;

interface StressFlags {
  tasks: number;
  url: string;
  key?: string;
  agent: string;
  concurrency: number;
  repo?: string;
  timeoutSeconds: number;
  settleSeconds: number;
  json?: boolean;
}

/** `--key`, else the first of KAGE_API_KEYS, else the key a local server generated into KAGE_HOME/api-key. */
function resolveKey(flags: StressFlags, globals: GlobalFlags): string {
  if (flags.key !== undefined) return flags.key;
  const config = configFrom(globals);
  const configured = config.server.apiKeys[0];
  if (configured !== undefined) return configured;
  const file = join(config.home, API_KEY_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new StressOptionsError(`No API key: pass --key, set KAGE_API_KEYS, or run on the server's machine (${file} is not readable)`);
  }
}

export function registerStress(program: Command, globals: () => GlobalFlags): void {
  program
    .command('stress')
    .description('Submit many tasks to a running server and measure the server process: RSS, fds, child processes, worktrees, DB connections')
    .option('--tasks <n>', 'tasks to submit', intOption('--tasks'), STRESS_DEFAULTS.tasks)
    .option('--url <url>', 'the server', STRESS_DEFAULTS.url)
    .option('--key <key>', 'API key (default: KAGE_API_KEYS, else KAGE_HOME/api-key)')
    .option('--agent <name>', 'cli_name of every task', STRESS_DEFAULTS.agent)
    .option('--concurrency <n>', 'submissions in flight at once', intOption('--concurrency'), STRESS_DEFAULTS.concurrency)
    .option('--repo <path>', 'repository of the tasks (default: the server\'s)')
    .option('--timeout-seconds <s>', 'how long tasks may stay unfinished after the last submission',
      intOption('--timeout-seconds'), STRESS_DEFAULTS.timeoutSeconds)
    .option('--settle-seconds <s>', 'window after the tasks end for the last six samples', intOption('--settle-seconds'),
      STRESS_DEFAULTS.settleSeconds)
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
RSS growth (end minus start): under ${RSS_MODERATE_MB} MB fine, ${RSS_MODERATE_MB}-${RSS_LEAK_MB} MB moderate, over ${RSS_LEAK_MB} MB a leak.
Exit codes: 0 passed; 1 a leak, tasks not terminal before the timeout, failed submissions, or the server
process lost; 2 the run could not start (server unreachable or unhealthy, key refused, bad flags).`)
    .action(async (flags: StressFlags) => {
      try {
        const opts = compileStressOptions({
          tasks: flags.tasks,
          url: flags.url,
          key: resolveKey(flags, globals()),
          agent: flags.agent,
          concurrency: flags.concurrency,
          // A path that exists here is sent absolute; anything else (a git URL, a path on the server) as given.
          repo: flags.repo === undefined ? null : existsSync(flags.repo) ? resolve(flags.repo) : flags.repo,
          timeoutSeconds: flags.timeoutSeconds,
          settleSeconds: flags.settleSeconds,
        });
        const observed = await runStress(opts, createStressHttp(opts.url, opts.key), (line) => process.stderr.write(`stress: ${line}\n`));
        const report = buildReport(opts, observed);
        process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : renderReport(report)}\n`);
        process.exitCode = report.exit_code;
      } catch (err) {
        if (!(err instanceof StressAbort || err instanceof StressOptionsError)) throw err;
        process.stderr.write(`kage stress: ${err.message}\n`);
        process.exitCode = EXIT_CANNOT_RUN;
      }
    });
}
