// Builds the HTTP API: fastify with request ids and the given logger, zod validation, OpenAPI and Swagger
// UI, CORS when configured, authentication, per-key rate limits, the error handler and every route.
// Hook order matters: CORS headers first (a browser must be able to read a 401), then authentication
// (before body parsing and validation: a missing key is 401 even on a malformed request), then the
// per-key rate limit, which needs the authenticated key.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { KageError } from '../domain/index.js';
import type { AuthResult } from './auth.js';
import type { ApiDeps } from './deps.js';
import { installErrorHandling, sendError } from './errors.js';
import { installMetrics } from './metrics.js';
import { registerMergeRoutes } from './routes/merge.js';
import { registerMetaRoutes } from './routes/meta.js';
import { registerProgressRoutes } from './routes/progress.js';
import { registerReplayRoutes } from './routes/replay.js';
import { registerTaskReadRoutes } from './routes/task-reads.js';
import { registerTaskRoutes } from './routes/tasks.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request; set by the auth hook before anything else reads the request. */
    auth: Extract<AuthResult, { ok: true }> | null;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RATE_WINDOW_MS = 60_000;

/** A caller's `X-Request-Id` when it is a sane token (so log lines can be correlated), else a new UUID. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const { server } = deps.kage.config;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId: requestId,
    bodyLimit: server.bodyLimitBytes,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: anything else is a 415 rather than a string that fails validation later.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app, { bodyLimitBytes: server.bodyLimitBytes });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  if (server.corsOrigins.length > 0) {
    // Explicit origins only, never `*`; keys travel in headers, so no cookies or credentials are needed.
    await app.register(cors, {
      origin: [...server.corsOrigins],
      credentials: false,
      allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'last-event-id', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
    });
  }

  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req, reply) => {
    // CORS preflights carry no credentials by design.
    if (req.method === 'OPTIONS' && server.corsOrigins.length > 0) return;
    const result = deps.auth.authenticate(req);
    if (result.ok) {
      req.auth = result;
      return;
    }
    if (result.status === 401) reply.header('www-authenticate', 'ApiKey');
    return sendError(reply, result.status, { detail: result.detail, code: result.code, message: result.detail });
  });

  await app.register(rateLimit, {
    max: server.rateLimitPerMinute,
    timeWindow: RATE_WINDOW_MS,
    // Per API key (by its hash, never the key itself); public routes and stream tokens per client address.
    keyGenerator: (req) => (req.auth?.keyHash ? `key:${req.auth.keyHash}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new KageError('KAGE_RATE_LIMITED', `More than ${context.max} requests in a minute for this API key; retry in ${seconds} s`, {
        details: { retryAfterSeconds: seconds },
      });
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kage Bunshin API',
        version: deps.version,
        description: 'Runs several coding agents on one task in parallel git worktrees, judges the results and merges the best. ' +
          'v1-compatible: existing v1 clients keep working.',
      },
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          Bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ ApiKey: [] }, { Bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerMetaRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerTaskReadRoutes(app, deps);
  registerMergeRoutes(app, deps);
  registerReplayRoutes(app, deps);
  registerProgressRoutes(app, deps);
  installMetrics(app, deps);
  return app;
}
