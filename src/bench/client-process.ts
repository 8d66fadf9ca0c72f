// Starts the API benchmark's client (client-main.ts) as a child process and sends it commands over IPC.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './http-load.js';
import type { Receipt } from './sse-subscribers.js';

export type ClientCommand =
  | { op: 'load'; spec: LoadSpec }
  | { op: 'subscribe'; url: string; headers: Record<string, string>; count: number; eventType: string }
  | { op: 'receipts'; count: number; timeoutMs: number }
  | { op: 'unsubscribe' };

export type ClientReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

export interface ClientProcess {
  pid: number;
  load(spec: LoadSpec): Promise<LoadResult>;
  /** Opens `count` progress streams; resolves once each got `connected`. */
  subscribe(url: string, headers: Record<string, string>, count: number, eventType: string): Promise<void>;
  /** Every subscriber's receipts, once each holds `count`. */
  receipts(count: number, timeoutMs: number): Promise<Receipt[][]>;
  unsubscribe(): Promise<void>;
  close(): Promise<void>;
}

export async function startClientProcess(): Promise<ClientProcess> {
  const entry = join(fileURLToPath(new URL('.', import.meta.url)), 'client-main.js');
  const child = fork(entry, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let seq = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (reply: ClientReply) => {
    const w = waiting.get(reply.seq);
    waiting.delete(reply.seq);
    if (reply.ok) w?.resolve(reply.result);
    else w?.reject(new Error(`bench client: ${reply.error}`));
  });
  child.once('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`bench client exited with ${code ?? signal}`));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });

  const call = <T>(command: ClientCommand): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = ++seq;
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    child.send({ seq: id, command });
  });

  return {
    pid: child.pid!,
    load: (spec) => call<LoadResult>({ op: 'load', spec }),
    subscribe: (url, headers, count, eventType) => call<void>({ op: 'subscribe', url, headers, count, eventType }),
    receipts: (count, timeoutMs) => call<Receipt[][]>({ op: 'receipts', count, timeoutMs }),
    unsubscribe: () => call<void>({ op: 'unsubscribe' }),
    async close() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
