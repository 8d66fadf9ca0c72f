import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KageError } from '../domain/index.js';
import { fieldName, fieldPath, installErrorHandling } from './errors.js';

function app() {
  const server = Fastify({ logger: false });
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  installErrorHandling(server, { bodyLimitBytes: 1024 });
  const r = server.withTypeProvider<ZodTypeProvider>();
  r.get('/boom', async () => {
    throw new Error('secret internals: password=hunter2');
  });
  r.get('/git', async () => {
    throw new KageError('KAGE_GIT_FAILED', 'git merge-tree failed');
  });
  r.get('/busy', async () => {
    throw new KageError('KAGE_QUEUE_FULL', 'full', { details: { retryAfterSeconds: 7 } });
  });
  r.post('/items', { schema: { body: z.object({ items: z.array(z.object({ n: z.number().min(1) })) }) } }, async () => ({ ok: true }));
  return server;
}

describe('the API error handler', () => {
  it('turns an unexpected error into a 500 naming the request id, without its message', async () => {
    const res = await app().inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body).toMatchObject({ detail: 'Internal Server Error', code: 'KAGE_INTERNAL' });
    expect(body.message).toContain(body.request_id);
    expect(res.body).not.toContain('hunter2');
  });

  it('uses the catalog status of a KageError and sets Retry-After when it carries one', async () => {
    const server = app();
    expect((await server.inject({ method: 'GET', url: '/git' })).statusCode).toBe(500);
    const busy = await server.inject({ method: 'GET', url: '/busy' });
    expect(busy.statusCode).toBe(429);
    expect(busy.headers['retry-after']).toBe('7');
    expect(busy.json().code).toBe('KAGE_QUEUE_FULL');
  });

  it('lists every invalid field with its location and names the first one with its value', async () => {
    const res = await app().inject({ method: 'POST', url: '/items', payload: { items: [{ n: 1 }, { n: 0 }] } });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.detail[0].loc).toEqual(['body', 'items', 1, 'n']);
    expect(body.field).toBe('items[1].n');
    expect(body.message).toContain('`items[1].n`');
    expect(body.message).toContain('got 0');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app().inject({ method: 'GET', url: '/nowhere' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ detail: 'Not Found', code: 'KAGE_ROUTE_NOT_FOUND' });
  });
});

describe('field names', () => {
  it('converts between dotted names and paths', () => {
    expect(fieldPath('cli_assignments[0].timeout')).toEqual(['cli_assignments', 0, 'timeout']);
    expect(fieldName(['cli_assignments', 0, 'timeout'])).toBe('cli_assignments[0].timeout');
  });
});
