// GET /api/v1/tasks/:id/progress: a task's events as Server-Sent Events. Stored history after the client's
// last event id first, then live events pushed by the event hub, then `task_complete` once the task's
// terminal event went out. Every stored event carries `id:` = its sequence number, so `Last-Event-ID`
// (header, or `?last_event_id=`) resumes with no gap and no duplicate; past the end of a finished task it
// answers 204.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EventRecord, TaskRecord } from '../../domain/index.js';
import { KageError, isKageError, isTerminalTask, showValue } from '../../domain/index.js';
import { parseEventId } from '../../events/hub.js';
import type { ApiDeps } from '../deps.js';
import { openSseStream, type SseStream } from '../sse.js';
import { v1TaskStatus } from '../v1.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Task-level events that keep their own name; the others go out under v1's `progress`. */
const NAMED_TASK_EVENTS = new Set(['judge_result', 'conflict_report', 'merge_result']);
/** Names the stream itself uses, which a stored event never takes. */
const STREAM_EVENTS = new Set(['connected', 'progress', 'heartbeat', 'task_complete', 'error']);
const TERMINAL_EVENTS = new Set(['task_finished', 'task_cancelled']);

/**
 * How long the task row may be terminal without its terminal event before the stream ends anyway. Normally
 * the event follows the row within milliseconds; events are written with asynchronous commit, so a crash
 * can lose the last ones, and a stream must not wait for them forever.
 */
const TERMINAL_EVENT_GRACE_MS = 2000;

/** The SSE event name of a stored event. */
export function streamEventName(e: Pick<EventRecord, 'cloneId' | 'type'>): string {
  if (e.cloneId === null && !NAMED_TASK_EVENTS.has(e.type)) return 'progress';
  return /^[a-z][a-z0-9_]*$/.test(e.type) && !STREAM_EVENTS.has(e.type) ? e.type : 'progress';
}

type ProgressRequest = FastifyRequest<{ Params: { id: string }; Querystring: { last_event_id?: unknown } }>;

/** Errors (bad id, unknown task) are thrown as KageErrors for the app's one error handler to render. */
export function registerProgressRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const open = new Set<SseStream>();
  app.get('/api/v1/tasks/:id/progress', {
    schema: {
      summary: 'Live progress (Server-Sent Events)',
      description: 'Events `connected`, then every stored event with `id:` (task-level ones as `progress`, clone, judge ' +
        'and merge events under their own names), `heartbeat` when idle, `task_complete` after the terminal event, ' +
        'then the stream ends; `error` on a failure. Resume with the `Last-Event-ID` header or `?last_event_id=`. ' +
        'Browsers pass a stream token as `?token=`.',
      tags: ['tasks'],
      produces: ['text/event-stream'],
    },
  }, (request, reply) => streamProgress(deps, open, request as ProgressRequest, reply));
  // A stream never ends by itself while its task runs, and the server's close waits for every open
  // response. Ended here, clients reconnect (to this server's successor) with Last-Event-ID.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });
}

/** The resume point: the `Last-Event-ID` header (sent by a reconnecting EventSource) wins over the query. */
function resumePoint(request: ProgressRequest): string | null {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') return parseResume(header.trim(), 'Last-Event-ID', ['header', 'last-event-id']);
  const query = request.query.last_event_id;
  if (query === undefined || query === '') return null;
  return parseResume(typeof query === 'string' ? query.trim() : String(query), 'last_event_id', ['query', 'last_event_id']);
}

function parseResume(raw: string, field: string, loc: string[]): string {
  try {
    return parseEventId(raw, field).toString();
  } catch (err) {
    throw new KageError('KAGE_INVALID_INPUT', (err as Error).message, { field, details: { loc } });
  }
}

async function streamProgress(deps: ApiDeps, open: Set<SseStream>, request: ProgressRequest, reply: FastifyReply): Promise<void> {
  const { id } = request.params;
  if (!UUID.test(id)) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`id\` to be a task UUID, got ${showValue(id)}`, { field: 'id', details: { loc: ['path', 'id'] } });
  }
  const resume = resumePoint(request);
  const taskId = id.toLowerCase();
  const store = deps.kage.ctx.store;
  const [task, clones] = await Promise.all([store.getTask(taskId), store.getClones(taskId)]);
  if (!task) throw new KageError('KAGE_TASK_NOT_FOUND', `Task ${taskId} not found`, { field: 'id' });
  // An EventSource reconnects on its own after the stream ends; past the end of a finished task, 204 is
  // the answer that makes it stop instead of reconnecting forever.
  if (resume !== null && isTerminalTask(task.status) && (await store.listEvents(taskId, resume, 1)).length === 0) {
    reply.code(204).send();
    return;
  }
  const cloneNames = new Map(clones.map((c) => [c.id, c.name]));
  startStream({ deps, open, reply, task, cloneNames, afterId: resume ?? '0', resumed: resume !== null });
}

function startStream(s: {
  deps: ApiDeps;
  open: Set<SseStream>;
  reply: FastifyReply;
  task: TaskRecord;
  cloneNames: Map<string, string>;
  afterId: string;
  resumed: boolean;
}): void {
  const { deps, task } = s;
  const store = deps.kage.ctx.store;
  let unsubscribe: (() => void) | null = null;
  /** Set once the stream is ending: nothing but `task_complete` or `error` goes out after it. */
  let finishing = false;
  let lastSentId = s.afterId;
  let terminalSince: number | null = null;
  let graceTimer: NodeJS.Timeout | null = null;
  let checking = false;

  const stop = (): void => {
    unsubscribe?.();
    unsubscribe = null;
    if (graceTimer) clearTimeout(graceTimer);
    graceTimer = null;
  };

  const sse: SseStream = openSseStream(s.reply, {
    idleMs: deps.kage.config.server.sseHeartbeatMs,
    onIdle: () => {
      if (finishing) return;
      sse.send('heartbeat', { task_id: task.id, timestamp: new Date().toISOString() });
      void checkTerminalRow();
    },
    onClose: () => {
      stop();
      s.open.delete(sse);
    },
  });
  s.open.add(sse);

  const fail = (err: unknown): void => {
    if (sse.closed) return;
    deps.log.error({ err, task: task.id }, 'progress stream failed');
    finishing = true;
    stop();
    const message = isKageError(err) ? err.message : 'The progress stream failed; reconnect with Last-Event-ID to resume';
    sse.send('error', { task_id: task.id, code: isKageError(err) ? err.code : 'KAGE_INTERNAL', message, detail: message,
      last_event_id: lastSentId });
    sse.end();
  };

  const complete = async (): Promise<void> => {
    if (finishing) return;
    finishing = true;
    stop();
    try {
      const final = await store.getTask(task.id);
      if (final) sse.send('task_complete', completion(final));
      sse.end();
    } catch (err) {
      fail(err);
    }
  };

  /**
   * The fallback for a terminal event that never got stored: ends the stream once the task row has been
   * terminal for the grace period and nothing is left to send.
   */
  const checkTerminalRow = async (): Promise<void> => {
    if (checking || finishing || sse.closed) return;
    checking = true;
    try {
      if (terminalSince === null) {
        const row = await store.getTask(task.id);
        if (row && isTerminalTask(row.status)) armGrace();
      } else if (Date.now() - terminalSince >= TERMINAL_EVENT_GRACE_MS) {
        const rest = await store.listEvents(task.id, lastSentId, 1);
        if (rest.length === 0) await complete();
      }
    } catch (err) {
      fail(err);
    } finally {
      checking = false;
    }
  };

  const armGrace = (): void => {
    terminalSince = Date.now();
    graceTimer = setTimeout(() => void checkTerminalRow(), TERMINAL_EVENT_GRACE_MS);
    graceTimer.unref();
  };

  const onEvents = (events: EventRecord[]): void => {
    if (finishing) return;
    for (const e of events) {
      if (!sse.send(streamEventName(e), eventData(e, s.cloneNames), e.id)) return;
      lastSentId = e.id;
      if (TERMINAL_EVENTS.has(e.type)) {
        void complete();
        return;
      }
    }
  };

  sse.send('connected', {
    task_id: task.id,
    status: v1TaskStatus(task.status),
    kage_status: task.status,
    resume_from: s.resumed ? s.afterId : null,
  });
  if (sse.closed) return;
  try {
    unsubscribe = deps.hub.subscribe(task.id, s.afterId, onEvents);
  } catch (err) {
    fail(err);
    return;
  }
  if (isTerminalTask(task.status)) armGrace();
}

function eventData(e: EventRecord, cloneNames: Map<string, string>) {
  const named = typeof e.payload.name === 'string' ? e.payload.name : null;
  return {
    id: e.id,
    type: e.type,
    task_id: e.taskId,
    clone: e.cloneId ? cloneNames.get(e.cloneId) ?? named : null,
    clone_id: e.cloneId,
    payload: e.payload,
    created_at: new Date(e.createdAt).toISOString(),
  };
}

function completion(task: TaskRecord) {
  return {
    task_id: task.id,
    status: v1TaskStatus(task.status),
    kage_status: task.status,
    best_cli: task.bestClone,
    merge_status: task.mergeStatus,
    error: task.error,
    completed_at: task.completedAt ? task.completedAt.toISOString() : null,
  };
}
