// The gateway part of `npm run bench`: what kage's LLM gateway adds to one model request. Streamed Anthropic
// Messages and OpenAI Chat Completions requests go to the mock model server (scenario `text`, a short answer)
// directly and through an in-process gateway with a per-clone token, sequentially over keep-alive
// connections, interleaved request by request after an untimed warm-up. The gateway has no store (tokens in
// memory, nothing written per request) and no steps (budget, rate limit): this is the proxy path alone.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createGateway, type Gateway } from '../gateway/index.js';
import { startMockModelServer, type MockModelServer } from '../mock-model/index.js';
import { GATEWAY_TARGETS, protocolFigures, sidesInOrder, type ProtocolFigures, type RequestTiming } from './gateway-figures.js';

const WARMUP_REQUESTS = 100;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_ERRORS = 5;

/** One streamed request shape per protocol: the path on each side, how the key is sent, and how a full answer ends. */
interface ProtocolCase {
  name: 'anthropic' | 'openai';
  directPath: string;
  gatewayPath: (gateway: Gateway) => string;
  headers: (key: string) => Record<string, string>;
  body: string;
  /** Text the complete stream contains (its last event). */
  endMarker: string;
}

const PROMPT = 'Say hello.';

const CASES: readonly ProtocolCase[] = [
  {
    name: 'anthropic',
    directPath: '/v1/messages',
    gatewayPath: (gateway) => `${new URL(gateway.baseUrls().anthropic).pathname.replace(/\/$/, '')}/v1/messages`,
    headers: (key) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
    body: JSON.stringify({ model: 'mock-model', max_tokens: 64, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    endMarker: 'message_stop',
  },
  {
    name: 'openai',
    directPath: '/v1/chat/completions',
    gatewayPath: (gateway) => `${new URL(gateway.baseUrls().openai).pathname.replace(/\/$/, '')}/chat/completions`,
    headers: (key) => ({ authorization: `Bearer ${key}` }),
    body: JSON.stringify({ model: 'mock-model', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: PROMPT }] }),
    endMarker: '[DONE]',
  },
];

export interface GatewayBenchOptions {
  /** Timed requests per protocol and side. */
  requests: number;
  progress: (msg: string) => void;
}

export interface GatewayBenchReport {
  config: Record<string, unknown>;
  /** Per protocol; null when a side had no successful request. */
  results: Record<string, ProtocolFigures | null>;
  /** Requests the gateway metered (warm-up included), against those sent through it. */
  metered: { sent: number; metered: number };
  targets: typeof GATEWAY_TARGETS;
  pass: boolean;
  /** The first failed requests, also printed on stderr. */
  failures: string[];
}

interface Target {
  port: number;
  agent: http.Agent;
}

/** One streamed POST, timed from `http.request` to headers, first body chunk and end; rejects on a bad answer. */
function timedRequest(target: Target, path: string, headers: Record<string, string>, body: string, endMarker: string): Promise<RequestTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let headersMs = 0;
    let firstByteMs: number | null = null;
    const req = http.request({
      host: '127.0.0.1', port: target.port, path, method: 'POST', agent: target.agent, timeout: REQUEST_TIMEOUT_MS,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      headersMs = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        firstByteMs ??= performance.now() - started;
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const totalMs = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        if (!text.includes(endMarker) || firstByteMs === null) return reject(new Error(`${path}: the stream ended without ${endMarker}`));
        resolve({ headersMs, firstByteMs, totalMs });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function measureGateway(opts: GatewayBenchOptions): Promise<GatewayBenchReport> {
  let mock: MockModelServer | null = null;
  let gateway: Gateway | null = null;
  // One keep-alive connection per side, as a clone's client keeps one to its base URL.
  const direct: Target = { port: 0, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
  const through: Target = { port: 0, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
  try {
    mock = await startMockModelServer({ scenario: 'text' });
    let metered = 0;
    gateway = await createGateway({
      upstreams: { anthropic: { baseUrl: mock.url, apiKey: null }, openai: { baseUrl: `${mock.url}/v1`, apiKey: null } },
      store: null,
      log: pino({ level: 'silent' }),
      onMetered: () => void metered++,
    });
    direct.port = mock.port;
    through.port = gateway.port;
    const token = await gateway.issueToken({ taskId: 'bench-gateway', cloneId: 'bench-gateway-clone' });

    const timings = new Map(CASES.map((c) => [c.name, { direct: [] as RequestTiming[], gateway: [] as RequestTiming[] }]));
    const failures: string[] = [];
    let failed = 0;
    let sent = 0;
    const total = WARMUP_REQUESTS + opts.requests;
    opts.progress(`gateway: ${WARMUP_REQUESTS} untimed, then ${opts.requests} timed streamed requests per protocol and side, interleaved`);
    for (let i = 0; i < total; i++) {
      const timed = i >= WARMUP_REQUESTS;
      for (const c of CASES) {
        for (const side of sidesInOrder(i)) {
          const viaGateway = side === 'gateway';
          if (viaGateway) sent++;
          try {
            const t = await timedRequest(viaGateway ? through : direct, viaGateway ? c.gatewayPath(gateway) : c.directPath,
              c.headers(viaGateway ? token : 'bench-direct'), c.body, c.endMarker);
            if (timed) timings.get(c.name)![side].push(t);
          } catch (err) {
            failed++;
            if (failures.length < MAX_ERRORS) failures.push(`${c.name} ${side} #${i}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      // The mock logs every request in memory; a long run should not grow it.
      if (i % 100 === 99) {
        mock.clearRequests();
        opts.progress(`  ${i + 1}/${total} rounds`);
      }
    }
    if (failed > failures.length) failures.push(`... ${failed - failures.length} more failed requests`);
    const results = Object.fromEntries(CASES.map((c) => {
      const t = timings.get(c.name)!;
      return [c.name, protocolFigures(t.direct, t.gateway)];
    }));
    // Metering is after the answer ended: the last request's count may land after its client saw the end.
    await gateway.close();
    gateway = null;
    return {
      config: { requests: opts.requests, warmup: WARMUP_REQUESTS, scenario: 'text', stream: true, store: null, steps: [],
        connections: 'one keep-alive connection per side', order: 'per round: anthropic then openai, the side first alternating' },
      results,
      metered: { sent, metered },
      targets: GATEWAY_TARGETS,
      pass: failed === 0 && Object.values(results).every((r) => r?.pass === true),
      failures,
    };
  } finally {
    direct.agent.destroy();
    through.agent.destroy();
    await gateway?.close();
    await mock?.close();
  }
}
