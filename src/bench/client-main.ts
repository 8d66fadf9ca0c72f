// The API benchmark's client, run as a child process so that it does not share the server's event loop:
// keep-alive request load and SSE subscribers, driven over IPC by client-process.ts, one command at a time.
import type { ClientCommand, ClientReply } from './client-process.js';
import { runLoad } from './http-load.js';
import { openSubscribers, type SseSubscribers } from './sse-subscribers.js';

let subscribers: SseSubscribers | null = null;

async function handle(command: ClientCommand): Promise<unknown> {
  switch (command.op) {
    case 'load':
      return runLoad(command.spec);
    case 'subscribe':
      subscribers?.close();
      subscribers = await openSubscribers(command.url, command.headers, command.count, command.eventType);
      return null;
    case 'receipts':
      if (!subscribers) throw new Error('No subscribers are open');
      return subscribers.waitFor(command.count, command.timeoutMs);
    case 'unsubscribe':
      subscribers?.close();
      subscribers = null;
      return null;
  }
}

process.on('message', (message: { seq: number; command: ClientCommand }) => {
  void handle(message.command).then(
    (result): ClientReply => ({ seq: message.seq, ok: true, result }),
    (err: unknown): ClientReply => ({ seq: message.seq, ok: false, error: err instanceof Error ? err.message : String(err) }),
  ).then((reply) => process.send?.(reply));
});
// The parent going away (disconnect) ends the client.
process.on('disconnect', () => {
  subscribers?.close();
  process.exit(0);
});
