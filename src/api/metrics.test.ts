// /metrics over real HTTP on loopback, on a real database with real fake-agent clones; and the example
// alert rules checked against the metrics the registry exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isTerminalTask } from '../domain/index.js';
import type { Kage } from '../main/app.js';
import { freshDatabase, makeRepo, openKage, ROOT, waitFor } from '../../test/support/harness.js';
import { createMetricsRegistry, installMetrics, UNMATCHED_ROUTE } from './metrics.js';
import { matching, parseSamples, type Sample } from '../../test/support/prometheus.js';

const log = pino({ level: 'silent' });

/** The value of the one sample with this name and (at least) these labels; undefined when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = matching(samples, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

let kage: Kage;
let app: FastifyInstance;
let base: string;

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return parseSamples(await res.text());
}

beforeAll(async () => {
  kage = await openKage({ databaseUrl: await freshDatabase() });
  app = Fastify();
  installMetrics(app, { kage, log });
  app.get('/api/v1/tasks/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await kage?.close();
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toContain('# TYPE kage_http_requests_total counter');
  });

  it('counts and times requests under their route pattern, never the raw URL', async () => {
    for (const id of ['11111111-aaaa', '22222222-bbbb', '33333333-cccc']) {
      expect((await fetch(`${base}/api/v1/tasks/${id}`)).status).toBe(200);
    }
    const text = await (await fetch(`${base}/metrics`)).text();
    const samples = parseSamples(text);
    const route = { method: 'GET', route: '/api/v1/tasks/:id' };
    expect(valueOf(samples, 'kage_http_requests_total', { ...route, status: '200' })).toBe(3);
    expect(valueOf(samples, 'kage_http_request_duration_seconds_count', route)).toBe(3);
    expect(valueOf(samples, 'kage_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(3);
    expect(valueOf(samples, 'kage_http_request_duration_seconds_sum', route)).toBeGreaterThan(0);
    expect(text).not.toContain('11111111-aaaa');
  });

  it('files every unmatched URL under one route label', async () => {
    const before = valueOf(await scrape(), 'kage_http_requests_total', { route: UNMATCHED_ROUTE, status: '404' }) ?? 0;
    for (const path of ['/nope/1', '/nope/2', '/wp-admin.php', '/api/v1/unknown?x=1']) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
    const samples = await scrape();
    expect(valueOf(samples, 'kage_http_requests_total', { route: UNMATCHED_ROUTE, status: '404' })).toBe(before + 4);
    const routes = new Set(samples.filter((s) => s.name.startsWith('kage_http_')).map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(['/api/v1/tasks/:id', '/metrics', UNMATCHED_ROUTE].sort());
  });

  it('exports memory, heap, event-loop lag, open files and the database pool', async () => {
    const samples = await scrape();
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'process_open_fds')).toBeGreaterThan(0);
    expect(valueOf(samples, 'kage_db_pool_connections', { state: 'in_use' })).toBe(0);
    expect(valueOf(samples, 'kage_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'kage_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'kage_running_clones')).toBe(0);

    const held = await kage.ctx.store.pool.connect();
    try {
      expect(valueOf(await scrape(), 'kage_db_pool_connections', { state: 'in_use' })).toBe(1);
    } finally {
      held.release();
    }
  });

  it('shows queued clones, then each agent\'s tokens, cost and clone outcomes after the task ran', async () => {
    const { task } = await kage.tasks.createTask({
      description: 'x',
      repo: await makeRepo(),
      maxRetries: 0,
      clones: [
        { agent: 'fake', name: 'good', options: { behaviour: 'ok' } },
        { agent: 'fake', name: 'bad', options: { behaviour: 'error' } },
      ],
    });
    // No worker runs yet, so both jobs wait in the queue.
    await waitFor('queue depth 2', async () => {
      const depth = valueOf(await scrape(), 'kage_queue_depth');
      if (depth === 2) return depth;
      throw new Error(`kage_queue_depth ${depth}`);
    });

    await kage.runtime.start(2);
    await waitFor(`task ${task.id} to finish`, async () => {
      const t = await kage.ctx.store.getTask(task.id);
      return t && isTerminalTask(t.status) ? t : undefined;
    });
    const stored = await kage.ctx.store.getClones(task.id);
    expect(stored.map((c) => [c.name, c.status]).sort()).toEqual([['bad', 'failed'], ['good', 'succeeded']]);
    const costUsd = stored.reduce((sum, c) => sum + c.costUsd, 0);

    // Store totals and queue depth are each cached for about a second, so poll until a scrape reflects
    // the finished task in both.
    const samples = await waitFor('the finished clones in /metrics', async () => {
      const s = await scrape();
      const failed = valueOf(s, 'kage_clones_total', { agent: 'fake', status: 'failed' });
      const depth = valueOf(s, 'kage_queue_depth');
      if (failed === 1 && depth === 0) return s;
      throw new Error(`kage_clones_total{status="failed"} ${failed}, kage_queue_depth ${depth}`);
    });
    expect(valueOf(samples, 'kage_agent_tokens_total', { agent: 'fake' })).toBe(1500);
    expect(valueOf(samples, 'kage_agent_cost_usd_total', { agent: 'fake' })).toBeCloseTo(costUsd, 9);
    expect(valueOf(samples, 'kage_clones_total', { agent: 'fake', status: 'succeeded' })).toBe(1);
    expect(valueOf(samples, 'kage_clones_failed_total', { agent: 'fake' })).toBe(1);
    expect(valueOf(samples, 'kage_queue_depth')).toBe(0);
    expect(valueOf(samples, 'kage_running_clones')).toBe(0);
  });

  it('still answers when the store cannot be read, with queue depth NaN and the failure counted', async () => {
    const broken = await openKage({ databaseUrl: await freshDatabase() });
    await broken.close();
    const metrics = createMetricsRegistry({ kage: broken, log });
    const samples = parseSamples(await metrics.registry.metrics());
    expect(valueOf(samples, 'kage_queue_depth')).toBeNaN();
    expect(valueOf(samples, 'kage_metrics_read_errors_total', { source: 'store' })).toBe(1);
    expect(valueOf(samples, 'kage_metrics_read_errors_total', { source: 'queue' })).toBe(1);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'kage_agent_tokens_total')).toBe(false);
  });
});

describe('ops/prometheus-alerts.yml', () => {
  interface Rule {
    alert: string;
    expr: string;
    for?: string;
    labels: { severity: string };
    annotations: { summary: string; description: string };
  }
  const file = parse(readFileSync(join(ROOT, 'ops/prometheus-alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  const rules = file.groups.flatMap((g) => g.rules);
  const byName = new Map(rules.map((r) => [r.alert, r]));

  it('has alert rules with an expression, a severity and a summary', () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Kage[A-Za-z]+$/);
      expect(typeof r.expr).toBe('string');
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
    }
  });

  it('warns at 20 MB/h of memory growth, pages at 50 MB/h, and alerts on a clone failure rate above 5 %', () => {
    expect(byName.get('KageMemoryGrowthWarning')?.expr).toMatch(/process_resident_memory_bytes\[1h\]\) \* 3600 > 20 \* 1024 \* 1024/);
    expect(byName.get('KageMemoryGrowthWarning')?.labels.severity).toBe('warning');
    expect(byName.get('KageMemoryGrowthCritical')?.expr).toMatch(/process_resident_memory_bytes\[1h\]\) \* 3600 > 50 \* 1024 \* 1024/);
    expect(byName.get('KageMemoryGrowthCritical')?.labels.severity).toBe('critical');
    const failure = byName.get('KageCloneFailureRateHigh')?.expr ?? '';
    expect(failure).toContain('rate(kage_clones_failed_total[15m])');
    expect(failure).toContain('> 0.05');
    expect(byName.get('KageEventLoopLag')?.expr).toContain('nodejs_eventloop_lag');
    expect(byName.get('KageQueueBacklog')?.expr).toContain('kage_queue_depth');
  });

  it('uses only metric names the registry exports', () => {
    const registry = createMetricsRegistry({ kage, log }).registry;
    const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const used = new Set<string>();
    for (const r of rules) {
      const withoutStrings = r.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
      for (const m of withoutStrings.matchAll(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g)) used.add(m[0]);
    }
    expect([...used].sort()).toEqual(expect.arrayContaining(['kage_clones_failed_total', 'kage_clones_total', 'process_resident_memory_bytes']));
    for (const name of used) {
      const histogram = name.replace(/_(bucket|sum|count)$/, '');
      expect(exported.has(name) || exported.has(histogram), `metric ${name} is exported`).toBe(true);
    }
  });
});
