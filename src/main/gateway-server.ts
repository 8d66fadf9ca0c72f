// `kage gateway` on its own: the store (for tokens issued by other kage processes, and for metering), the
// event log and the gateway, without queue or workers.
import { pino, type Logger } from 'pino';
import type { KageConfig } from '../config/config.js';
import { createEventLog } from '../events/event-log.js';
import type { Gateway } from '../gateway/index.js';
import { PgStore } from '../store/pg-store.js';
import { resolveDatabaseUrl, startGateway } from './app.js';

export interface GatewayServer {
  gateway: Gateway;
  close(): Promise<void>;
}

export async function startGatewayServer(config: KageConfig, opts: { log?: Logger; port?: number } = {}): Promise<GatewayServer> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const store = new PgStore(await resolveDatabaseUrl(config, log), 4);
  try {
    await store.migrate();
    const events = createEventLog(store, { onError: (err) => log.error({ err }, 'storing events failed') });
    const gateway = await startGateway(config, store.pool, events, log, opts.port ?? config.gateway.port);
    return {
      gateway,
      async close() {
        await gateway.close();
        await events.flush();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
