// `kage gateway`: the LLM gateway on its own, until SIGINT or SIGTERM. It resolves the per-clone tokens other
// kage processes issued (through the store) and meters into the same database.
import { InvalidArgumentError, type Command } from 'commander';
import { GATEWAY_PROVIDERS, KageError } from '../../domain/index.js';
import { startGatewayServer } from '../../main/gateway-server.js';
import { configFrom, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';

export function registerGateway(program: Command, globals: () => GlobalFlags): void {
  program
    .command('gateway')
    .description('Run the LLM gateway alone on 127.0.0.1: clones\' model traffic, metered, with the real keys kept here')
    .option('--port <port>', 'port (default: KAGE_GATEWAY_PORT or gateway.port; 0 picks a free one)', portOption)
    .action(async (flags: { port?: number }) => {
      const config = configFrom(globals());
      const server = await startGatewayServer(config, flags.port === undefined ? {} : { port: flags.port }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
        throw new KageError('KAGE_INVALID_INPUT', `Cannot listen on 127.0.0.1:${flags.port ?? config.gateway.port}: ${err.code}`, { field: '--port', cause: err });
      });
      const out = process.stdout;
      const urls = server.gateway.baseUrls();
      out.write(`Kage gateway listening on ${server.gateway.url}\n`);
      for (const provider of GATEWAY_PROVIDERS) {
        const upstream = config.gateway.upstreams[provider];
        out.write(`  ${provider.padEnd(9)} ${urls[provider]} -> ${upstream.baseUrl ?? '(the provider\'s own endpoint)'}${upstream.apiKey ? ' (with its key)' : ''}\n`);
      }
      out.write('Clients send a per-clone token that a kage process issued as their API key.\n');

      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await server.close();
      process.stderr.write('Stopped.\n');
    });
}

function portOption(value: string): number {
  const port = intOption('--port')(value);
  if (port > 65_535) throw new InvalidArgumentError(`Expected --port between 0 and 65535, got "${value}"`);
  return port;
}
