// `kage serve`: the HTTP API and the workers in one process, until SIGTERM or SIGINT.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { startServer } from '../../main/server.js';
import { configFrom, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';

export function registerServe(program: Command, globals: () => GlobalFlags): void {
  program
    .command('serve')
    .description('Run the REST API (v1-compatible) and the workers in one process')
    .option('--host <host>', 'interface to listen on (default: KAGE_HOST or 127.0.0.1)')
    .option('--port <port>', 'port (default: KAGE_PORT or 8003; 0 picks a free one)', intOption('--port'))
    .option('--repo <path>', 'repository for tasks that name none (default: KAGE_REPO)')
    .option('--concurrency <n>', 'clone jobs at once (default: KAGE_CONCURRENCY or 8)', intOption('--concurrency'))
    .action(async (flags: { host?: string; port?: number; repo?: string; concurrency?: number }) => {
      const config = configFrom(globals(), {
        ...(flags.host ? { host: flags.host } : {}),
        ...(flags.port !== undefined ? { port: flags.port } : {}),
        ...(flags.repo ? { repo: resolve(flags.repo) } : {}),
        ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      });
      const server = await startServer(config);
      const out = process.stdout;
      out.write(`Kage Bunshin API listening on ${server.url}\n`);
      out.write(`Docs: ${server.url}/docs   OpenAPI: ${server.url}/openapi.json\n`);
      if (server.generatedKeyFile) {
        out.write(`API key: in ${server.generatedKeyFile} (send it as X-API-Key; set KAGE_API_KEYS to use your own)\n`);
      } else if (config.server.apiKeys.length > 0) {
        out.write(`API keys: ${config.server.apiKeys.length} from the configuration\n`);
      }
      if (config.server.repo) out.write(`Default repository: ${config.server.repo}\n`);

      const signal = await new Promise<NodeJS.Signals>((done) => {
        process.once('SIGINT', () => done('SIGINT'));
        process.once('SIGTERM', () => done('SIGTERM'));
      });
      const graceSeconds = config.server.shutdownGraceMs / 1000;
      process.stderr.write(`${signal}: no new requests; running clones get up to ${graceSeconds} s to finish (again to force)\n`);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      await server.close();
      process.stderr.write('Stopped.\n');
    });
}
