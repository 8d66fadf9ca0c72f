// Reads beyond v1: one clone in detail (events, diff, check output, score), the task's events as JSON,
// the judge's ranking, and the signed token a browser uses to open the progress stream.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CloneRecord, EventRecord, TaskRecord } from '../../domain/index.js';
import { KageError, showValue } from '../../domain/index.js';
import { runGit } from '../../workspace/git.js';
import { findClone } from '../clone-lookup.js';
import type { ApiDeps } from '../deps.js';
import {
  cloneDetailSchema, cloneParams, errorSchema, eventSchema, eventsQuery, rankingResponseSchema, streamTokenResponseSchema,
  taskIdParams,
} from '../schemas.js';
import { toV1Task } from '../v1.js';

/** Characters of diff text returned inline; larger diffs are cut (`diff_truncated`). */
const MAX_DIFF_CHARS = 1_000_000;
/** Events returned with a clone's detail (the oldest first; the events endpoint pages through all). */
const CLONE_EVENTS = 1000;

const errors = { 401: errorSchema, 403: errorSchema, 404: errorSchema, 422: errorSchema };
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function eventView(e: EventRecord, names: Map<string, string>) {
  return {
    id: e.id, type: e.type, clone_id: e.cloneId, clone: e.cloneId ? names.get(e.cloneId) ?? null : null,
    payload: e.payload, created_at: new Date(e.createdAt).toISOString(),
  };
}

async function diffText(task: TaskRecord, clone: CloneRecord): Promise<{ diff: string | null; truncated: boolean }> {
  if (!clone.headCommit) return { diff: null, truncated: false };
  const res = await runGit(['diff', '--no-color', '--no-ext-diff', task.baseCommit, clone.headCommit, '--'], { cwd: task.repo, allowFail: true });
  if (res.code !== 0) return { diff: null, truncated: false };
  return res.stdout.length > MAX_DIFF_CHARS
    ? { diff: res.stdout.slice(0, MAX_DIFF_CHARS), truncated: true }
    : { diff: res.stdout, truncated: false };
}

export function registerTaskReadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { kage, auth } = deps;
  const { store } = kage.ctx;

  async function existingTask(id: string): Promise<TaskRecord> {
    const task = await store.getTask(id.toLowerCase());
    if (!task) throw new KageError('KAGE_TASK_NOT_FOUND', `No task with id ${showValue(id)}`, { field: 'id' });
    return task;
  }

  r.get('/api/v1/tasks/:id/clones/:name', {
    schema: {
      summary: 'One clone: status, its events, diff against the base commit, check output, score and reason',
      tags: ['tasks'],
      params: cloneParams,
      response: { 200: cloneDetailSchema, ...errors },
    },
  }, async (req) => {
    const { task, clones } = await kage.tasks.view(req.params.id.toLowerCase());
    const found = findClone(task, clones, req.params.name, { field: 'name', in: 'path' })!;
    const [events, diff] = await Promise.all([store.listCloneEvents(task.id, found.id, '0', CLONE_EVENTS), diffText(task, found)]);
    const summary = toV1Task(task, [found]).clones[0]!;
    const names = new Map([[found.id, found.name]]);
    return {
      ...summary,
      task_id: task.id,
      head_commit: found.headCommit,
      exit_code: found.exitCode,
      exit_signal: found.exitSignal,
      started_at: iso(found.startedAt),
      finished_at: iso(found.finishedAt),
      check_output: found.checkOutput,
      diff: diff.diff,
      diff_truncated: diff.truncated,
      events: events.map((e) => eventView(e, names)),
    };
  });

  r.get('/api/v1/tasks/:id/events', {
    schema: {
      summary: 'The task\'s stored events after an event id, oldest first',
      tags: ['tasks'],
      params: taskIdParams,
      querystring: eventsQuery,
      response: { 200: eventSchema.array(), ...errors },
    },
  }, async (req) => {
    const id = req.params.id.toLowerCase();
    const [, clones, events] = await Promise.all([existingTask(id), store.getClones(id), store.listEvents(id, req.query.after, req.query.limit)]);
    const names = new Map(clones.map((c) => [c.id, c.name]));
    return events.map((e) => eventView(e, names));
  });

  r.get('/api/v1/tasks/:id/ranking', {
    schema: { summary: 'The judge\'s ranking of the clones, best first', tags: ['tasks'], params: taskIdParams, response: { 200: rankingResponseSchema, ...errors } },
  }, async (req) => {
    const { task, clones } = await kage.tasks.view(req.params.id.toLowerCase());
    const ranked = [...clones].sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER));
    return {
      task_id: task.id,
      best_cli: task.bestClone,
      ranking: ranked.map((c) => ({
        rank: c.rank, name: c.name, agent: c.agent, status: c.status, check_status: c.checkStatus, score: c.score, reason: c.reason,
      })),
    };
  });

  r.post('/api/v1/tasks/:id/stream-token', {
    schema: {
      summary: 'A short-lived token for `GET /api/v1/tasks/{id}/progress?token=` (EventSource cannot send headers)',
      tags: ['tasks'],
      params: taskIdParams,
      response: { 200: streamTokenResponseSchema, ...errors },
    },
  }, async (req) => {
    const task = await existingTask(req.params.id);
    const { token, expiresAt } = auth.issueStreamToken(task.id);
    return { token, expires_at: expiresAt.toISOString(), url: `/api/v1/tasks/${task.id}/progress?token=${encodeURIComponent(token)}` };
  });
}
