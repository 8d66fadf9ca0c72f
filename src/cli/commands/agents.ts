// `kage doctor` (is every agent usable here, and if not, why) and `kage agents install` (the pinned CLIs).
import type { Command } from 'commander';
import { createAgentRegistry } from '../../agents/registry.js';
import { inspectAgents, type AgentStatus } from '../../agents/doctor.js';
import { installAgentClis } from '../../agents/cli-install.js';
import { configFrom, type GlobalFlags } from '../context.js';

export function registerAgents(program: Command, globals: () => GlobalFlags): void {
  program
    .command('doctor')
    .description('Check every agent: found or missing, version, model endpoint, and how to fix what is missing')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = configFrom(globals());
      const report = await inspectAgents(createAgentRegistry(), config);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ agents: report }, null, 2)}\n`);
      } else {
        process.stdout.write(renderDoctor(report));
      }
      // Usable agents exist (fake, shell) even when no CLI is installed: doctor itself succeeded.
    });

  const agents = program.command('agents').description('The agent CLIs kage drives');
  agents
    .command('install')
    .description('Install the pinned agent CLIs from npm into KAGE_AGENTS_DIR (once per machine; reused afterwards)')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = configFrom(globals());
      const outcome = await installAgentClis({
        agentsDir: config.agentsDir,
        env: config.env,
        onLine: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
      } else {
        process.stdout.write(outcome.installed
          ? `Installed ${outcome.packages.length} agent CLIs into ${outcome.dir} in ${(outcome.durationMs / 1000).toFixed(1)} s.\n`
          : `Already installed in ${outcome.dir}.\n`);
      }
    });
}

export function renderDoctor(report: readonly AgentStatus[]): string {
  const lines: string[] = [];
  for (const agent of report) {
    const mark = agent.usable ? (agent.problems.length === 0 ? 'ok  ' : 'warn') : 'FAIL';
    const what = agent.kind === 'cli'
      ? agent.binary === null ? 'not found' : `${agent.version ?? '?'} at ${agent.binary}${agent.binarySource === 'kage' ? ' (kage install)' : ''}`
      : agent.kind === 'api' ? "kage's API worker" : 'built in';
    const names = agent.aliases.length > 0 ? `${agent.id} (${agent.aliases.join(', ')})` : agent.id;
    lines.push(`${mark}  ${names.padEnd(24)} ${what}`);
    if (agent.endpoint !== null) {
      const key = agent.auth === 'passthrough' || agent.apiKeySet === null ? '' : agent.apiKeySet ? ', key set' : ', no key';
      const own = agent.ownCredentials === null ? '' : `, own credentials: ${agent.ownCredentials.length > 0 ? agent.ownCredentials.join(', ') : 'none'}`;
      lines.push(`      endpoint ${agent.endpoint}${key}${agent.auth === null ? '' : `, auth ${agent.auth}`}${own}`);
    }
    for (const problem of agent.problems) lines.push(`      - ${problem}`);
    if (agent.fix !== null) lines.push(`      fix: ${agent.fix}`);
  }
  const usable = report.filter((a) => a.usable).length;
  lines.push('', `${usable} of ${report.length} agents usable.`);
  return `${lines.join('\n')}\n`;
}
