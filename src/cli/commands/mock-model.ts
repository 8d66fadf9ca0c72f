// `kage mock-model`: the scripted mock model server (src/mock-model/) on its own, for offline demos and
// for pointing a real agent CLI at it by hand. Runs until SIGINT or SIGTERM.
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { KageError } from '../../domain/index.js';
import { parseScenarioSpec, ScenarioError, startMockModelServer } from '../../mock-model/index.js';
import { intOption } from '../options.js';

export function registerMockModel(program: Command): void {
  program
    .command('mock-model')
    .description('Run the scripted mock model server (Anthropic, OpenAI, Gemini and Ollama APIs) for tests and offline demos')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', portOption, 0)
    .option('--scenario <name>', 'scenario for requests without a [[mock:NAME]] marker: write, text, slow, hang, loop, errorNNN; options as "slow delayMs=50"', scenarioOption, 'write')
    .option('--log <file>', 'append every request to this file as JSON lines')
    .action(async (flags: { host: string; port: number; scenario: string; log?: string }) => {
      const server = await startMockModelServer({
        host: flags.host,
        port: flags.port,
        scenario: flags.scenario,
        ...(flags.log ? { logFile: resolve(flags.log) } : {}),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE' && err.code !== 'EADDRNOTAVAIL' && err.code !== 'EACCES') throw err;
        throw new KageError('KAGE_INVALID_INPUT', `Cannot listen on ${flags.host}:${flags.port}: ${err.code}`, { field: '--port', cause: err });
      });
      const { url } = server;
      const out = process.stdout;
      out.write(`Mock model server listening on ${url} (default scenario: ${flags.scenario})\n`);
      out.write('Point the agents at it:\n');
      out.write(`  ANTHROPIC_BASE_URL=${url}           # Claude Code; plus ANTHROPIC_API_KEY=mock\n`);
      out.write(`  OPENAI_BASE_URL=${url}/v1           # Qwen Code, OpenAI-compatible clients; plus OPENAI_API_KEY=mock\n`);
      out.write(`  GOOGLE_GEMINI_BASE_URL=${url}       # Gemini CLI; plus GEMINI_API_KEY=mock and auth type gemini-api-key\n`);
      out.write(`  OLLAMA_HOST=${url}                  # kage's API worker and other Ollama clients\n`);
      out.write(`  codex: -c 'model_providers.mock={name="mock",base_url="${url}/v1",env_key="MOCK_API_KEY",wire_api="responses"}' -c model_provider=mock\n`);
      out.write(`Pick a scenario per prompt with a marker such as [[mock:text]] or [[mock:write file=a.txt]]. Requests: GET ${url}/_mock/requests\n`);
      if (flags.log) out.write(`Request log: ${resolve(flags.log)}\n`);

      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await server.close();
      process.stderr.write('Stopped.\n');
    });
}

function scenarioOption(value: string): string {
  try {
    parseScenarioSpec(value);
  } catch (err) {
    if (err instanceof ScenarioError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  return value;
}

function portOption(value: string): number {
  const port = intOption('--port')(value);
  if (port > 65_535) throw new InvalidArgumentError(`Expected --port between 0 and 65535, got "${value}"`);
  return port;
}
