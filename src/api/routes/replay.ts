// Replaying a recorded task: a new task runs the recorded one's clones again with their model traffic
// answered from the flight recording, and is judged and merged as usual.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { errorSchema, replayTaskSchema, taskIdParams, taskResponseSchema } from '../schemas.js';
import { toV1Task } from '../v1.js';

const errors = { 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 422: errorSchema };

export function registerReplayRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { kage } = deps;

  r.post('/api/v1/tasks/:id/replay', {
    schema: {
      summary: 'Replay a finished recorded task (`"record": true`) from its recording, without the model provider',
      description: 'Creates a new task with the recorded one\'s description, repository, base commit, commands and clones; ' +
        'the gateway answers its clones\' model requests from the recording. 409 when the task was not recorded or has not finished.',
      tags: ['tasks'],
      params: taskIdParams,
      body: replayTaskSchema,
      response: { 201: taskResponseSchema, ...errors },
    },
  }, async (req, reply) => {
    const keyPrefix = req.auth?.keyPrefix ?? null;
    const { task, clones } = await kage.tasks.replayTask(req.params.id.toLowerCase(), {
      mergeStrategy: req.body?.merge_strategy ?? null,
      createdBy: req.body?.created_by ?? (keyPrefix ? `api-key-${keyPrefix}` : null),
    });
    return reply.code(201).send(toV1Task(task, clones));
  });
}
