// Service routes: `GET /` (service info and endpoint map) and `GET /health` (checks the store), both public;
// the agent list; and `GET /api/v1/system`, the process's own figures for `kage stress` and operators.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { inspectAgents, type AgentStatus } from '../../agents/doctor.js';
import type { ApiDeps } from '../deps.js';
import { agentsResponseSchema, errorSchema, healthSchema, serviceInfoSchema, systemSchema } from '../schemas.js';
import { V1_AGENT_ALIASES, V1_REMOVED_AGENTS } from '../v1.js';

/** How long one check of the agents (their `--version`, endpoints) is served before the next. */
const AGENT_CHECK_TTL_MS = 60_000;

/** A store that does not answer within this long counts as unreachable. */
const HEALTH_TIMEOUT_MS = 2000;

const ENDPOINTS: Record<string, string> = {
  'GET /health': 'service and store health',
  'POST /api/v1/tasks': 'submit a task',
  'GET /api/v1/tasks': 'list tasks (?status=&page=&page_size=)',
  'GET /api/v1/tasks/stats': 'running count and per-agent totals',
  'GET /api/v1/tasks/{id}': 'one task',
  'DELETE /api/v1/tasks/{id}': 'cancel a task',
  'GET /api/v1/tasks/{id}/progress': 'live progress (Server-Sent Events)',
  'POST /api/v1/tasks/{id}/stream-token': 'a short-lived token for the progress stream',
  'POST /api/v1/tasks/{id}/merge': 'merge a clone (?strategy=&cli_name=)',
  'GET /api/v1/tasks/{id}/conflicts': 'conflicts of a clone with the base branch (?cli_name=)',
  'GET /api/v1/tasks/{id}/clones/{name}': 'one clone: events, diff, check output, score',
  'GET /api/v1/tasks/{id}/events': 'the task\'s events (?after=&limit=)',
  'GET /api/v1/tasks/{id}/ranking': 'the judge\'s ranking',
  'GET /api/v1/agents': 'agents that can be assigned',
  'GET /api/v1/system': 'the server process: pid, RSS, worktrees on disk, queue depth, database connections',
  'GET /docs': 'Swagger UI',
  'GET /openapi.json': 'OpenAPI 3.1 document',
};

/** The value of `read`, or null when it fails or takes longer than `ms`: one slow source must not hold the answer. */
async function within<T>(ms: number, read: () => Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([read().catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerMetaRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const startedAt = Date.now();

  r.get('/', {
    schema: { summary: 'Service info and endpoint map', tags: ['meta'], security: [], response: { 200: serviceInfoSchema } },
  }, async () => ({
    name: 'Kage Bunshin',
    version: deps.version,
    api_version: 'v1' as const,
    docs: '/docs',
    openapi: '/openapi.json',
    endpoints: ENDPOINTS,
  }));

  r.get('/health', {
    schema: { summary: 'Health: 200 when the store answers, else 503', tags: ['meta'], security: [], response: { 200: healthSchema, 503: healthSchema } },
  }, async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS)));
    const ok = await Promise.race([deps.kage.ctx.store.ping(), timeout]);
    clearTimeout(timer);
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'healthy' : 'unhealthy',
      store: ok ? 'ok' : 'unreachable',
      pid: process.pid,
      version: deps.version,
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      running_clones: deps.kage.runtime.runningCount(),
    });
  });

  // Checking runs every CLI's `--version` (seconds for some): one check serves a minute of requests.
  let checked: { at: Date; agents: Promise<AgentStatus[]> } | null = null;
  r.get('/api/v1/agents', {
    schema: {
      summary: 'Agents that can be assigned (`cli_name`), and whether each can run here',
      tags: ['agents'],
      querystring: z.object({ refresh: z.enum(['true', 'false']).optional() }),
      response: { 200: agentsResponseSchema },
    },
  }, async (req) => {
    if (checked === null || req.query.refresh === 'true' || Date.now() - checked.at.getTime() > AGENT_CHECK_TTL_MS) {
      const agents = inspectAgents(deps.kage.ctx.agents, deps.kage.config);
      checked = { at: new Date(), agents };
      agents.catch(() => (checked = null));
    }
    const statuses = new Map((await checked.agents).map((s) => [s.id, s]));
    return {
      agents: deps.kage.ctx.agents.list().map((a) => {
        const s = statuses.get(a.id)!;
        return {
          id: a.id, aliases: [...a.aliases], description: a.description, supports_resume: a.supportsResume,
          kind: s.kind, usable: s.usable, binary: s.binary, binary_source: s.binarySource, version: s.version,
          pinned_version: s.pinnedVersion, provider: s.provider, endpoint: s.endpoint, api_key_set: s.apiKeySet,
          auth: s.auth, own_credentials: s.ownCredentials, problems: s.problems, fix: s.fix,
        };
      }),
      checked_at: checked.at.toISOString(),
      v1_aliases: { ...V1_AGENT_ALIASES },
      removed: { ...V1_REMOVED_AGENTS },
    };
  });

  r.get('/api/v1/system', {
    schema: {
      summary: 'The server process: pid, memory, worktrees on disk, queue depth, database connections',
      description: '`kage stress` takes the pid from here to sample the process itself. ' +
        '`queue_depth` and `db_connections` are null when the queue or the store does not answer within 2 s.',
      tags: ['meta'],
      response: { 200: systemSchema, 401: errorSchema, 403: errorSchema },
    },
  }, async () => {
    const { ctx, runtime } = deps.kage;
    const [depth, connections] = await Promise.all([
      within(HEALTH_TIMEOUT_MS, () => ctx.queue.depth()),
      within(HEALTH_TIMEOUT_MS, () => ctx.store.countDatabaseConnections()),
    ]);
    const uptimeS = process.uptime();
    return {
      pid: process.pid,
      started_at: new Date(Date.now() - uptimeS * 1000).toISOString(),
      uptime_s: Math.round(uptimeS),
      rss_bytes: process.memoryUsage.rss(),
      kage_home: deps.kage.config.home,
      worktrees_on_disk: ctx.worktrees.listWorktreesOnDisk().length,
      running_clones: runtime.runningCount(),
      // pg-boss answers null instead of throwing while its connection is closed.
      queue_depth: typeof depth === 'number' && Number.isFinite(depth) ? depth : null,
      db_connections: connections,
      version: deps.version,
    };
  });
}
