// v1's task endpoints: submit, list, stats, read, cancel. Shapes and status codes are v1's (see
// reference-api.md); v1's defects (500 on cancel of a finished task, unreachable stats) are not.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { TaskStatus } from '../../domain/index.js';
import { KageError } from '../../domain/index.js';
import type { PgStore } from '../../store/pg-store.js';
import type { ApiDeps } from '../deps.js';
import {
  cancelResponseSchema, errorSchema, listTasksQuery, statsResponseSchema, submitTaskSchema, taskIdParams, taskListSchema,
  taskResponseSchema,
} from '../schemas.js';
import { inV1Terms, toTaskInput } from '../submit.js';
import { toV1Task } from '../v1.js';

/** kage states behind each v1 state (the list filter). */
const V1_TO_KAGE: Record<string, TaskStatus[]> = {
  pending: ['pending'],
  running: ['running', 'judging', 'merging'],
  completed: ['completed', 'needs_review'],
  failed: ['failed'],
  cancelled: ['cancelled'],
};

/** Seconds a client is told to wait when the queue is full. */
const QUEUE_FULL_RETRY_SECONDS = 5;
/** How long a count of waiting clones is reused: submissions come in bursts, the count moves slowly. */
const WAITING_COUNT_TTL_MS = 250;

/** Admission control: new submissions get 429 while `max` clones or more wait for a worker. */
function createQueueGate(store: PgStore, max: number) {
  let counted = 0;
  let countedAtMs = 0;
  let addedSince = 0;
  return {
    async admit(clones: number): Promise<void> {
      if (Date.now() - countedAtMs > WAITING_COUNT_TTL_MS) {
        counted = await store.countWaitingClones();
        countedAtMs = Date.now();
        addedSince = 0;
      }
      const waiting = counted + addedSince;
      if (waiting >= max) {
        throw new KageError('KAGE_QUEUE_FULL',
          `${waiting} clones are waiting for a worker, the limit is ${max} (KAGE_MAX_QUEUED); retry in ${QUEUE_FULL_RETRY_SECONDS} s`,
          { details: { retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS } });
      }
      addedSince += clones;
    },
  };
}

const errors = { 401: errorSchema, 403: errorSchema, 422: errorSchema };

export function registerTaskRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { kage } = deps;
  const { store } = kage.ctx;
  const gate = createQueueGate(store, kage.config.server.maxQueuedClones);

  r.post('/api/v1/tasks', {
    schema: {
      summary: 'Submit a task: one clone per `cli_assignments` item',
      tags: ['tasks'],
      body: submitTaskSchema,
      response: { 201: taskResponseSchema, ...errors, 429: errorSchema },
    },
  }, async (req, reply) => {
    const input = toTaskInput(req.body, { defaultRepo: kage.config.server.repo, keyPrefix: req.auth?.keyPrefix ?? null, agents: kage.ctx.agents });
    await gate.admit(input.clones.length);
    const { task, clones } = await kage.tasks.createTask(input).catch((err: unknown) => {
      throw inV1Terms(err);
    });
    return reply.code(201).send(toV1Task(task, clones));
  });

  r.get('/api/v1/tasks', {
    schema: {
      summary: 'List tasks, newest first',
      tags: ['tasks'],
      querystring: listTasksQuery,
      response: { 200: taskListSchema, ...errors },
    },
  }, async (req) => {
    const { status, page, page_size: pageSize } = req.query;
    const statuses = !status ? null : V1_TO_KAGE[status] ?? [status as TaskStatus];
    const { tasks, total } = await store.listTasks({ status: statuses, limit: pageSize, offset: (page - 1) * pageSize });
    const clones = await store.getClonesOfTasks(tasks.map((t) => t.id));
    return { tasks: tasks.map((t) => toV1Task(t, clones.get(t.id) ?? [])), total, page, page_size: pageSize };
  });

  r.get('/api/v1/tasks/stats', {
    schema: { summary: 'Running count and per-agent totals', tags: ['tasks'], response: { 200: statsResponseSchema, ...errors } },
  }, async () => {
    const [agents, byStatus, waiting] = await Promise.all([store.agentStats(), store.countTasksByStatus(), store.countWaitingClones()]);
    const count = (statuses: readonly TaskStatus[]): number => statuses.reduce((n, s) => n + (byStatus[s] ?? 0), 0);
    return {
      running_tasks: count(V1_TO_KAGE.running!),
      running_clones: agents.reduce((n, a) => n + a.running, 0),
      waiting_clones: waiting,
      total_tasks: Object.values(byStatus).reduce((n, c) => n + (c ?? 0), 0),
      agents: agents.map((a) => ({ cli_name: a.agent, total: a.clones, succeeded: a.succeeded, running: a.running, tokens: a.tokens, cost: a.costUsd })),
    };
  });

  r.get('/api/v1/tasks/:id', {
    schema: { summary: 'One task', tags: ['tasks'], params: taskIdParams, response: { 200: taskResponseSchema, 404: errorSchema, ...errors } },
  }, async (req) => {
    const { task, clones } = await kage.tasks.view(req.params.id.toLowerCase());
    return toV1Task(task, clones);
  });

  r.delete('/api/v1/tasks/:id', {
    schema: {
      summary: 'Cancel a task and kill its clones\' processes',
      tags: ['tasks'],
      params: taskIdParams,
      response: { 200: cancelResponseSchema, 404: errorSchema, 409: errorSchema, ...errors },
    },
  }, async (req) => {
    const { task } = await kage.tasks.cancelTask(req.params.id.toLowerCase(), 'cancelled through the API');
    return { message: `Task ${task.id} cancelled successfully`, task_id: task.id, status: 'cancelled' as const };
  });
}
