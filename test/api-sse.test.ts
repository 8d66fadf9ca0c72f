// The progress stream over real HTTP on loopback with a real database and real fake-agent processes:
// event order, resume after a disconnect and after a server restart, events written by another process,
// heartbeats, and the error shapes.
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiAuth } from '../src/api/auth.js';
import type { ApiDeps } from '../src/api/deps.js';
import { installErrorHandling } from '../src/api/errors.js';
import { registerProgressRoutes } from '../src/api/routes/progress.js';
import { isTerminalTask } from '../src/domain/index.js';
import { createEventHub, type EventHub } from '../src/events/hub.js';
import type { Kage } from '../src/main/app.js';
import { freshDatabase, makeRepo, openKage, waitFor } from './support/harness.js';
import { json, openSse, type SseMessage } from './support/sse-client.js';

interface Server {
  url: string;
  hub: EventHub;
  close(): Promise<void>;
}

const servers: Server[] = [];
const kages: Kage[] = [];

async function kageOn(databaseUrl: string, env: Record<string, string> = {}): Promise<Kage> {
  const kage = await openKage({ databaseUrl, env });
  kages.push(kage);
  return kage;
}

/**
 * The route on a bare fastify instance with the API's error handling, as the API app mounts it (auth is the
 * app's hook, not the route's). No safety poll, so whatever arrives was pushed.
 */
async function serve(kage: Kage): Promise<Server> {
  const hub = await createEventHub(kage.ctx.store, kage.ctx.events, { pollMs: 600_000 });
  const app: FastifyInstance = Fastify();
  const deps: ApiDeps = { kage, hub, auth: {} as ApiAuth, log: pino({ level: 'silent' }), version: 'test' };
  installErrorHandling(app, { bodyLimitBytes: 1024 * 1024 });
  registerProgressRoutes(app, deps);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  let closed = false;
  const server: Server = {
    url: `http://127.0.0.1:${address.port}`,
    hub,
    async close() {
      if (closed) return;
      closed = true;
      await hub.close();
      await app.close();
    },
  };
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const k of kages) await k.close();
});

const progressUrl = (server: Server, taskId: string, query = ''): string =>
  `${server.url}/api/v1/tasks/${taskId}/progress${query}`;

/** A task on a fresh repository, so that each one's clones have something to merge. */
async function createTask(kage: Kage, clones: { name: string; behaviour: string; delayMs?: number }[]): Promise<string> {
  const { task } = await kage.tasks.createTask({
    description: 'Write a file',
    repo: await makeRepo(),
    clones: clones.map((c) => ({ agent: 'fake', name: c.name, options: { behaviour: c.behaviour, ...(c.delayMs ? { delayMs: c.delayMs } : {}) } })),
  });
  return task.id;
}

async function finished(kage: Kage, taskId: string): Promise<void> {
  await waitFor(`task ${taskId} to finish`, async () => {
    const task = await kage.ctx.store.getTask(taskId);
    return task && isTerminalTask(task.status) ? true : undefined;
  }, 45_000);
}

/** Stored events only (the ones with an `id:`), without the stream's own messages. */
const stored = (messages: SseMessage[]): SseMessage[] => messages.filter((m) => m.id !== null);
const withoutHeartbeats = (messages: SseMessage[]): SseMessage[] => messages.filter((m) => m.event !== 'heartbeat');

async function tableIds(kage: Kage, taskId: string): Promise<string[]> {
  return (await kage.ctx.store.listEvents(taskId, '0', 100_000)).map((e) => e.id);
}

/** Ids up to and including the terminal event: what a stream must have delivered before `task_complete`. */
async function idsThroughTerminal(kage: Kage, taskId: string): Promise<string[]> {
  const events = await kage.ctx.store.listEvents(taskId, '0', 100_000);
  const end = events.findIndex((e) => e.type === 'task_finished' || e.type === 'task_cancelled');
  return events.slice(0, end + 1).map((e) => e.id);
}

function expectIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!)).toBeGreaterThan(BigInt(ids[i - 1]!));
}

describe('progress stream of tasks run by this process', () => {
  let kage: Kage;
  let server: Server;
  let working: Promise<unknown> | null = null;
  const workers = (): Promise<unknown> => (working ??= kage.runtime.start(4));

  beforeAll(async () => {
    kage = await kageOn(await freshDatabase());
    server = await serve(kage);
  });

  it('sends connected, every stored event in id order with per-clone names, then task_complete, and closes', async () => {
    const taskId = await createTask(kage, [{ name: 'first', behaviour: 'ok' }, { name: 'second', behaviour: 'slow', delayMs: 100 }]);
    const stream = await openSse(progressUrl(server, taskId));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    const connected = await stream.next();
    expect(connected).toMatchObject({ event: 'connected', id: null });
    expect(json(connected!)).toEqual({ task_id: taskId, status: 'pending', kage_status: 'pending', resume_from: null });

    // The workers start only now: everything after the stored `task_created` and `clone_queued` arrives live.
    await workers();
    const messages = withoutHeartbeats(await stream.rest());
    const complete = messages.at(-1)!;
    expect(complete.event).toBe('task_complete');
    expect(json(complete)).toMatchObject({ task_id: taskId, status: 'completed', kage_status: 'completed', merge_status: 'merged' });
    expect(['first', 'second']).toContain(json(complete).best_cli);
    expect(await stream.next()).toBeNull();

    const events = stored(messages);
    expect(events).toHaveLength(messages.length - 1);
    const ids = events.map((m) => m.id!);
    expectIncreasing(ids);
    expect(ids).toEqual(await idsThroughTerminal(kage, taskId));
    const last = json(events.at(-1)!);
    expect(events.at(-1)!.event).toBe('progress');
    expect(last).toMatchObject({ type: 'task_finished', task_id: taskId, clone: null, payload: { status: 'completed' } });

    for (const m of events) {
      const data = json<{ id: string; type: string; clone: string | null; clone_id: string | null; created_at: string }>(m);
      expect(data.id).toBe(m.id);
      expect(Number.isNaN(Date.parse(data.created_at))).toBe(false);
      if (data.clone_id !== null) {
        expect(m.event).toBe(data.type);
        expect(['first', 'second']).toContain(data.clone);
      } else if (['judge_result', 'conflict_report', 'merge_result'].includes(data.type)) {
        expect(m.event).toBe(data.type);
      } else {
        expect(m.event).toBe('progress');
      }
    }
    const names = events.map((m) => m.event);
    for (const name of ['clone_queued', 'clone_started', 'clone_status', 'agent_tool_use', 'agent_tool_result', 'agent_message',
      'agent_usage', 'agent_result', 'clone_finished', 'judge_result', 'merge_result']) expect(names).toContain(name);
    expect(json(events[0]!).type).toBe('task_created');
    const perClone = (clone: string) => events.filter((m) => json(m).clone === clone).map((m) => m.event);
    for (const clone of ['first', 'second']) {
      const own = perClone(clone);
      expect(own[0]).toBe('clone_queued');
      expect(own.indexOf('clone_started')).toBeLessThan(own.indexOf('agent_tool_use'));
      expect(own.at(-1)).toBe('clone_finished');
    }
  });

  it('resumes after a disconnect from Last-Event-ID with no gap and no duplicate', async () => {
    await workers();
    const taskId = await createTask(kage, [{ name: 'slow', behaviour: 'slow', delayMs: 150 }]);
    const first = await openSse(progressUrl(server, taskId));
    const before = await first.until((m) => m.event === 'agent_tool_use');
    first.close();
    const resumeFrom = first.lastEventId();
    expect(resumeFrom).toBe(stored(before).at(-1)!.id);

    const second = await openSse(progressUrl(server, taskId), { 'Last-Event-ID': resumeFrom });
    const after = withoutHeartbeats(await second.rest());
    expect(after[0]).toMatchObject({ event: 'connected' });
    expect(json(after[0]!)).toMatchObject({ resume_from: resumeFrom });
    expect(after.at(-1)!.event).toBe('task_complete');

    // A fresh connection after the end replays the whole history: the two halves must add up to it.
    const full = await openSse(progressUrl(server, taskId));
    const replay = withoutHeartbeats(await full.rest());
    const halves = [...stored(before), ...stored(after)];
    expect(halves.map((m) => m.id)).toEqual(stored(replay).map((m) => m.id));
    expect(halves.map((m) => [m.event, m.data])).toEqual(stored(replay).map((m) => [m.event, m.data]));
    expect(halves.map((m) => m.id)).toEqual(await idsThroughTerminal(kage, taskId));
    expect(replay.at(-1)!.data).toBe(after.at(-1)!.data);

    // Reconnecting after the end, as an EventSource left open does, gets 204: the one answer that stops it.
    const again = await fetch(progressUrl(server, taskId), { headers: { 'Last-Event-ID': halves.at(-1)!.id! } });
    expect(again.status).toBe(204);
  });

  it('takes the resume point from ?last_event_id= too, the header winning when both are given', async () => {
    await workers();
    const taskId = await createTask(kage, [{ name: 'one', behaviour: 'ok' }]);
    await finished(kage, taskId);
    const ids = await idsThroughTerminal(kage, taskId);
    const byQuery = await openSse(progressUrl(server, taskId, `?last_event_id=${ids[2]}`));
    expect(stored(await byQuery.rest()).map((m) => m.id)).toEqual(ids.slice(3));
    const both = await openSse(progressUrl(server, taskId, `?last_event_id=${ids[2]}`), { 'Last-Event-ID': ids[4]! });
    expect(stored(await both.rest()).map((m) => m.id)).toEqual(ids.slice(5));
  });

  it('replays a finished task and sends task_complete right away', async () => {
    await workers();
    const taskId = await createTask(kage, [{ name: 'done', behaviour: 'ok' }]);
    await finished(kage, taskId);
    const stream = await openSse(progressUrl(server, taskId));
    const messages = await stream.rest();
    expect(messages[0]!.event).toBe('connected');
    expect(json(messages[0]!)).toMatchObject({ status: 'completed', kage_status: 'completed' });
    expect(messages.at(-1)!.event).toBe('task_complete');
    expect(stored(messages).map((m) => m.id)).toEqual(await idsThroughTerminal(kage, taskId));
  });

  it('ends a cancelled task with its task_cancelled event and task_complete', async () => {
    await workers();
    const taskId = await createTask(kage, [{ name: 'long', behaviour: 'slow', delayMs: 2000 }]);
    const stream = await openSse(progressUrl(server, taskId));
    await stream.until((m) => m.event === 'clone_started');
    await kage.tasks.cancelTask(taskId);
    const rest = withoutHeartbeats(await stream.rest());
    const terminal = stored(rest).at(-1)!;
    expect(terminal.event).toBe('progress');
    expect(json(terminal)).toMatchObject({ type: 'task_cancelled' });
    expect(rest.at(-1)!.event).toBe('task_complete');
    expect(json(rest.at(-1)!)).toMatchObject({ status: 'cancelled', kage_status: 'cancelled' });
  });

  it('replays from Last-Event-ID on a restarted server', async () => {
    await workers();
    const taskId = await createTask(kage, [{ name: 'restart', behaviour: 'slow', delayMs: 100 }]);
    const before = await openSse(progressUrl(server, taskId));
    const seen = await before.until((m) => m.event === 'clone_started');
    // Closing the server ends the streams still open instead of waiting for them.
    await server.close();
    seen.push(...(await before.rest()));
    expect(seen.map((m) => m.event)).not.toContain('task_complete');
    await finished(kage, taskId);
    await kage.close();

    const again = await kageOn(kage.config.databaseUrl!);
    const restarted = await serve(again);
    const after = await openSse(progressUrl(restarted, taskId), { 'Last-Event-ID': before.lastEventId() });
    const rest = withoutHeartbeats(await after.rest());
    expect(rest[0]!.event).toBe('connected');
    expect(rest.at(-1)!.event).toBe('task_complete');
    expect([...stored(seen), ...stored(rest)].map((m) => m.id)).toEqual(await idsThroughTerminal(again, taskId));
  });
});

describe('progress stream of a task run by another process', () => {
  it('delivers the events another kage process writes as they happen', async () => {
    const databaseUrl = await freshDatabase();
    const api = await kageOn(databaseUrl);
    const server = await serve(api);
    const worker = await kageOn(databaseUrl);
    const taskId = await createTask(api, [{ name: 'remote', behaviour: 'slow', delayMs: 100 }]);
    const stream = await openSse(progressUrl(server, taskId));
    expect((await stream.next())!.event).toBe('connected');
    // Only the other process runs workers; its events reach this server through NOTIFY alone.
    await worker.runtime.start(2);
    const messages = withoutHeartbeats(await stream.rest());
    expect(messages.at(-1)!.event).toBe('task_complete');
    expect(json(messages.at(-1)!)).toMatchObject({ status: 'completed' });
    const ids = stored(messages).map((m) => m.id!);
    expectIncreasing(ids);
    expect(ids).toEqual(await idsThroughTerminal(api, taskId));
    expect(stored(messages).map((m) => m.event)).toContain('agent_tool_use');
  });
});

describe('progress stream of a task that waits', () => {
  let kage: Kage;
  let server: Server;
  let taskId: string;

  beforeAll(async () => {
    // No workers on this database: the task stays pending and the stream stays idle.
    kage = await kageOn(await freshDatabase(), { KAGE_SSE_HEARTBEAT_MS: '50' });
    server = await serve(kage);
    taskId = await createTask(kage, [{ name: 'waiting', behaviour: 'ok' }]);
  });

  it('sends heartbeats while idle', async () => {
    const stream = await openSse(progressUrl(server, taskId));
    let beats = 0;
    const messages = await stream.until((m) => m.event === 'heartbeat' && ++beats === 3);
    expect(withoutHeartbeats(messages).map((m) => m.event)).toEqual(['connected', 'progress', 'clone_queued']);
    const beat = messages.at(-1)!;
    expect(beat).toMatchObject({ event: 'heartbeat', id: null });
    expect(json(beat)).toMatchObject({ task_id: taskId });
    expect(Number.isNaN(Date.parse(json<{ timestamp: string }>(beat).timestamp))).toBe(false);
    stream.close();
  });

  it('drops its subscription when the client goes away', async () => {
    const stream = await openSse(progressUrl(server, taskId));
    await stream.until((m) => m.event === 'clone_queued');
    expect(server.hub.stats()).toMatchObject({ tasks: 1, subscribers: 1 });
    stream.close();
    await waitFor('the subscription to end', async () => (server.hub.stats().subscribers === 0 ? true : undefined), 10_000);
    expect(server.hub.stats()).toEqual({ tasks: 0, subscribers: 0, polling: false });
  });

  it('ends the stream of a task that ended without a stored terminal event', async () => {
    // A crash can lose the last events (they are written with asynchronous commit) while the task row is final.
    const lost = await createTask(kage, [{ name: 'lost', behaviour: 'ok' }]);
    await kage.ctx.store.updateTask(lost, { status: 'failed', error: 'worker lost', completedAt: new Date() });
    const stream = await openSse(progressUrl(server, lost));
    const messages = withoutHeartbeats(await stream.rest());
    expect(messages.map((m) => m.event)).toEqual(['connected', 'progress', 'clone_queued', 'task_complete']);
    expect(json(messages.at(-1)!)).toMatchObject({ task_id: lost, status: 'failed', kage_status: 'failed', error: 'worker lost' });
  });

  it('sends an error event and closes when the store fails under an open stream', async () => {
    const stream = await openSse(progressUrl(server, taskId));
    await stream.until((m) => m.event === 'heartbeat');
    const getTask = kage.ctx.store.getTask;
    kage.ctx.store.getTask = async () => {
      throw new Error('connection terminated');
    };
    try {
      const rest = await stream.rest();
      const error = rest.at(-1)!;
      expect(error.event).toBe('error');
      expect(json(error)).toMatchObject({ task_id: taskId, code: 'KAGE_INTERNAL', message: expect.stringContaining('Last-Event-ID') });
    } finally {
      kage.ctx.store.getTask = getTask;
    }
    await waitFor('the subscription to end', async () => (server.hub.stats().subscribers === 0 ? true : undefined), 10_000);
  });

  it('answers an unknown task with 404 JSON', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const res = await fetch(progressUrl(server, missing));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ detail: expect.stringContaining(missing), code: 'KAGE_TASK_NOT_FOUND', field: 'id' });
  });

  it('answers a malformed task id or resume point with 422 naming the field', async () => {
    const badId = await fetch(progressUrl(server, 'not-a-uuid'));
    expect(badId.status).toBe(422);
    expect(await badId.json()).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'id', message: expect.stringContaining('not-a-uuid'),
      detail: [{ loc: ['path', 'id'] }] });
    const badQuery = await fetch(progressUrl(server, taskId, '?last_event_id=yesterday'));
    expect(badQuery.status).toBe(422);
    expect(await badQuery.json()).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'last_event_id', detail: [{ loc: ['query', 'last_event_id'] }] });
    const badHeader = await fetch(progressUrl(server, taskId), { headers: { 'Last-Event-ID': '-1' } });
    expect(badHeader.status).toBe(422);
    expect(await badHeader.json()).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'Last-Event-ID', detail: [{ loc: ['header', 'last-event-id'] }] });
  });
});
