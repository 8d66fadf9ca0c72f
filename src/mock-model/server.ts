// The scripted mock model server: one loopback HTTP server speaking Anthropic Messages, OpenAI Chat
// Completions and Responses, Gemini and Ollama, answering each request from a scenario (scenario.ts) with
// known usage (usage.ts), and logging every request (request-log.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenHttp } from '../net/listen.js';
import { anthropicProtocol } from './anthropic.js';
import { isObject } from './conversation.js';
import { GEMINI_PATH, geminiProtocol } from './gemini.js';
import { BodyError, pause, readBody, sendJson, untilAborted } from './http-io.js';
import { lastMarker } from './marker.js';
import { OLLAMA_VERSION, ollamaProtocol, ollamaTags } from './ollama.js';
import { openAiChatProtocol } from './openai-chat.js';
import { openAiResponsesProtocol } from './openai-responses.js';
import { planReply } from './plan.js';
import type { Protocol } from './protocol.js';
import { createRequestLog, redactedPath, redactHeaders, type MockRequestRecord } from './request-log.js';
import { resolveScenario, ScenarioError, type Scenario } from './scenario.js';
import { MOCK_USAGE } from './usage.js';

export interface MockModelServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The scenario for requests without a marker, optionally with options: `write`, `error500`, `slow delayMs=50`. Default `write`. */
  scenario?: string;
  /** Append every request to this file as a JSON line. */
  logFile?: string;
}

export interface MockModelServer {
  /** `http://host:port`, no trailing slash. */
  url: string;
  port: number;
  /** The requests served so far, oldest first (copies). */
  requests(): MockRequestRecord[];
  clearRequests(): void;
  /** Stops listening and ends every open request, hung ones included. */
  close(): Promise<void>;
}

/** The route a method and path lead to. */
type Route =
  | { kind: 'model'; protocol: Protocol }
  | { kind: 'static'; status: number; body: unknown }
  | { kind: 'log' };

export async function startMockModelServer(options: MockModelServerOptions = {}): Promise<MockModelServer> {
  const fallback = parseScenarioSpec(options.scenario ?? 'write');
  const log = createRequestLog(options.logFile);
  const open = new Set<AbortController>();
  const conversations = new Map<string, number>();
  const counter = (key: string): number => {
    const seen = conversations.get(key) ?? 0;
    conversations.set(key, seen + 1);
    return seen;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    const method = req.method ?? 'GET';
    const route = routeFor(method, url.pathname);
    if (route?.kind === 'log') return serveLog(method, res);

    const record: MockRequestRecord = {
      time: new Date().toISOString(), method, path: redactedPath(url), protocol: null, scenario: null, model: null, tool: null,
      headers: redactHeaders(req.headers), body: null, status: null, usage: null,
    };
    log.add(record);
    res.once('close', () => {
      record.status = res.headersSent ? res.statusCode : null;
      log.finish(record);
    });

    const raw = await readBody(req);
    record.body = parseJson(raw);
    if (route === null) return sendJson(res, 404, { error: { type: 'not_found_error', message: `mock: no route for ${method} ${url.pathname}` } });
    if (route.kind === 'static') return sendJson(res, route.status, route.body);

    const { protocol } = route;
    record.protocol = protocol.name;
    if (!isObject(record.body)) return sendJson(res, 400, protocol.errorBody(400, 'mock: the request body is not a JSON object'));
    const request = protocol.parse(record.body, url);
    record.model = request.model;
    const plan = planReply(request, fallback, counter);
    record.scenario = plan.scenario;
    if (plan.kind === 'error') {
      return sendJson(res, plan.status, protocol.errorBody(plan.status, plan.message), plan.headers);
    }
    if (plan.kind === 'hang') {
      // No headers at all: clients see a request that never answers, and their own timeouts must act.
      await untilAborted(signal);
      res.destroy();
      return;
    }
    const { answer, delayMs } = plan;
    record.tool = answer.kind === 'tool' ? answer.call.name : null;
    const rendered = protocol.render(answer, request, url);
    if (rendered.kind === 'json') {
      if (!(await pause(delayMs, signal))) return void res.destroy();
      record.usage = answer.usage;
      return sendJson(res, 200, rendered.body);
    }
    res.writeHead(200, { 'content-type': rendered.contentType, 'cache-control': 'no-cache' });
    res.flushHeaders();
    for (const chunk of rendered.chunks) {
      if (!(await pause(delayMs, signal))) return void res.destroy();
      res.write(chunk);
    }
    if (request.streamUsage) record.usage = answer.usage;
    res.end();
  }

  function serveLog(method: string, res: ServerResponse): void {
    if (method === 'GET') return sendJson(res, 200, { requests: log.list() });
    if (method === 'DELETE') {
      log.clear();
      res.writeHead(204).end();
      return;
    }
    sendJson(res, 405, { error: { type: 'invalid_request_error', message: `mock: ${method} is not allowed on /_mock/requests` } }, { allow: 'GET, DELETE' });
  }

  const server = createServer((req, res) => {
    const controller = new AbortController();
    open.add(controller);
    // The client going away ends a hung or slow answer; so does close() below.
    res.once('close', () => {
      controller.abort();
      open.delete(controller);
    });
    handle(req, res, controller.signal).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = err instanceof BodyError ? err.status : 500;
      sendJson(res, status, { error: { type: 'api_error', message: err instanceof Error ? err.message : String(err) } });
    });
  });
  const { url, port } = await listenHttp(server, options.host ?? '127.0.0.1', options.port ?? 0);

  return {
    url,
    port,
    requests: () => log.list(),
    clearRequests: () => log.clear(),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const controller of open) controller.abort();
      server.closeAllConnections();
      await closed;
      await log.close();
    },
  };
}

function routeFor(method: string, path: string): Route | null {
  if (path === '/_mock/requests') return { kind: 'log' };
  if (method === 'POST') {
    if (path === '/v1/messages') return { kind: 'model', protocol: anthropicProtocol };
    if (path === '/v1/messages/count_tokens') return { kind: 'static', status: 200, body: { input_tokens: MOCK_USAGE.toolTurn.inputTokens } };
    if (path === '/v1/chat/completions' || path === '/chat/completions') return { kind: 'model', protocol: openAiChatProtocol };
    if (path === '/v1/responses' || path === '/responses') return { kind: 'model', protocol: openAiResponsesProtocol };
    if (GEMINI_PATH.test(path)) return { kind: 'model', protocol: geminiProtocol };
    if (path === '/api/chat') return { kind: 'model', protocol: ollamaProtocol };
  }
  if (method === 'GET') {
    // Codex tries a WebSocket upgrade here first and falls back to HTTPS on 426.
    if (path === '/v1/responses' || path === '/responses') {
      return { kind: 'static', status: 426, body: { error: { type: 'invalid_request_error', message: 'mock: WebSocket transport is not supported; use HTTPS', code: 426 } } };
    }
    if (path === '/api/tags') return { kind: 'static', status: 200, body: ollamaTags() };
    if (path === '/api/version') return { kind: 'static', status: 200, body: { version: OLLAMA_VERSION } };
  }
  return null;
}

/** `NAME` or `NAME key=value …`, as in a marker; throws ScenarioError when invalid. */
export function parseScenarioSpec(spec: string): Scenario {
  const marker = lastMarker([`[[mock:${spec.trim()}]]`]);
  if (marker === null) throw new ScenarioError(`Expected a scenario like \`write\` or \`slow delayMs=50\`, got ${JSON.stringify(spec)}`);
  return resolveScenario(marker.name, marker.options);
}

function parseJson(raw: string): unknown {
  if (raw === '') return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
