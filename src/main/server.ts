// The API server's composition: kage services, API auth, the live event hub and the HTTP app in one
// process with the workers, and their orderly shutdown.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry.js';
import { buildApp } from '../api/app.js';
import { createApiAuth } from '../api/auth.js';
import type { KageConfig } from '../config/config.js';
import { createEventHub } from '../events/hub.js';
import { packagePath } from '../store/sql.js';
import { createKage, type Kage } from './app.js';

/** After the listener stops, requests in flight get this long; then connections still open (progress streams) are dropped. */
const REQUEST_DRAIN_MS = 2000;

export interface ServerOptions {
  log?: Logger;
  agents?: AgentRegistry;
  /** Run clone jobs in this process (default true). */
  workers?: boolean;
}

export interface KageServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /** Where the generated API key is, when keys are generated rather than configured. */
  generatedKeyFile: string | null;
  app: FastifyInstance;
  kage: Kage;
  /**
   * Stops accepting requests, lets running clones finish for up to `graceMs` (default
   * `config.server.shutdownGraceMs`), hands the rest back to the queue, and closes everything.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startServer(config: KageConfig, opts: ServerOptions = {}): Promise<KageServer> {
  const kage = await createKage(config, { ...(opts.log ? { log: opts.log } : {}), ...(opts.agents ? { agents: opts.agents } : {}) });
  const log = kage.ctx.log;
  const cleanups: (() => Promise<void>)[] = [() => kage.close()];
  const unwind = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    const { auth, generatedKeyFile } = await createApiAuth({ store: kage.ctx.store, config, log });
    const hub = await createEventHub(kage.ctx.store, kage.ctx.events, { onError: (err) => log.error({ err }, 'event hub read failed') });
    cleanups.push(() => hub.close());
    const app = await buildApp({ kage, auth, hub, log, version: packageVersion() });
    cleanups.push(() => app.close());
    await app.listen({ host: config.server.host, port: config.server.port });
    if (opts.workers !== false) await kage.runtime.start(config.concurrency ?? 8);

    let closing: Promise<void> | null = null;
    return {
      url: urlOf(app),
      generatedKeyFile,
      app,
      kage,
      close(closeOpts = {}) {
        closing ??= (async () => {
          const drop = setTimeout(() => app.server.closeAllConnections(), REQUEST_DRAIN_MS);
          await app.close().catch((err: unknown) => log.error({ err }, 'closing the HTTP server failed'));
          clearTimeout(drop);
          await kage.runtime.stop({ graceMs: closeOpts.graceMs ?? config.server.shutdownGraceMs })
            .catch((err: unknown) => log.error({ err }, 'stopping the workers failed'));
          await hub.close().catch((err: unknown) => log.error({ err }, 'closing the event hub failed'));
          await kage.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
