// `kage gateway` on its own: the store (for tokens issued by other kage processes, and for metering), the
// event log and the gateway, without queue or workers. Every worker pointed at it (gateway.url) shares its
// rate limiter and budget guard. A clone it refuses for its budget runs in another process: the stop goes
// out on the control channel, after the `budget_exceeded` event is stored, before the refusal is answered.
import { pino, type Logger } from 'pino';
import type { KageConfig } from '../config/config.js';
import { CONTROL_CHANNEL, type ControlMessage } from '../core/task-service.js';
import { createEventLog } from '../events/event-log.js';
import { PgStore } from '../store/pg-store.js';
import { resolveDatabaseUrl, startGateway, type KageGateway } from './app.js';

export interface GatewayServer {
  gateway: KageGateway;
  close(): Promise<void>;
}

export async function startGatewayServer(config: KageConfig, opts: { log?: Logger; host?: string; port?: number } = {}): Promise<GatewayServer> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const store = new PgStore(await resolveDatabaseUrl(config, log), 4);
  try {
    await store.migrate();
    const events = createEventLog(store, { onError: (err) => log.error({ err }, 'storing events failed') });
    const gateway = await startGateway(config, store.pool, events, log, {
      host: opts.host ?? config.gateway.host,
      port: opts.port ?? config.gateway.port,
      // The worker running the clone stops it (runtime.ts); it reads the stored event if the message is lost.
      async stopClone({ taskId, cloneId }, message) {
        await events.flush();
        await store.notify(CONTROL_CHANNEL, JSON.stringify({ type: 'budget', taskId, cloneId, message } satisfies ControlMessage))
          .catch((err: unknown) => log.error({ err, clone: cloneId }, 'publishing a budget stop failed'));
      },
    });
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
