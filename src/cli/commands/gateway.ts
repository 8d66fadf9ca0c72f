// `kage gateway`: the LLM gateway on its own, until SIGINT or SIGTERM. It resolves the per-clone tokens other
// kage processes issued (through the store) and meters into the same database; workers anywhere use it with
// KAGE_GATEWAY_URL, sharing its rate limits and budgets.
import { InvalidArgumentError, type Command } from 'commander';
import { GATEWAY_PROVIDERS, KageError } from '../../domain/index.js';
import { startGatewayServer } from '../../main/gateway-server.js';
import { configFrom, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';

export function registerGateway(program: Command, globals: () => GlobalFlags): void {
  program
    .command('gateway')
    .description('Run the LLM gateway alone: clones\' model traffic from workers here or elsewhere (KAGE_GATEWAY_URL), metered, '
      + 'rate-limited and budgeted in one place, with the real keys kept here')
    .option('--host <host>', 'interface to listen on (default: KAGE_GATEWAY_HOST or 127.0.0.1; anything else exposes it on the network, '
      + 'where only clone tokens authenticate)')
    .option('--port <port>', 'port (default: KAGE_GATEWAY_PORT or gateway.port; 0 picks a free one)', portOption)
    .action(async (flags: { host?: string; port?: number }) => {
      const config = configFrom(globals());
      const host = flags.host ?? config.gateway.host;
      const port = flags.port ?? config.gateway.port;
      const server = await startGatewayServer(config, { host, port }).catch((err: NodeJS.ErrnoException) => {
        if (!['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND'].includes(err.code ?? '')) throw err;
        throw new KageError('KAGE_INVALID_INPUT', `Cannot listen on ${host}:${port}: ${err.code}`, { field: flags.host !== undefined ? '--host' : '--port', cause: err });
      });
      // One write: whoever reads the banner from a pipe gets it whole.
      const urls = server.gateway.baseUrls();
      const lines = [`Kage gateway listening on ${server.gateway.url}`];
      if (!LOOPBACK.has(host)) {
        lines.push(`Warning: ${host} is reachable from other machines; anyone there who holds a live clone token spends the keys configured here.`);
      }
      for (const provider of GATEWAY_PROVIDERS) {
        const upstream = config.gateway.upstreams[provider];
        lines.push(`  ${provider.padEnd(9)} ${urls[provider]} -> ${upstream.baseUrl ?? '(the provider\'s own endpoint)'}${upstream.apiKey ? ' (with its key)' : ''}`);
      }
      lines.push('Clients send a per-clone token that a kage process issued as their API key.');
      lines.push(`Workers on the same database use it with KAGE_GATEWAY_URL=http://<this machine's address>:${server.gateway.port}`);
      process.stdout.write(`${lines.join('\n')}\n`);

      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await server.close();
      process.stderr.write('Stopped.\n');
    });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function portOption(value: string): number {
  const port = intOption('--port')(value);
  if (port > 65_535) throw new InvalidArgumentError(`Expected --port between 0 and 65535, got "${value}"`);
  return port;
}
