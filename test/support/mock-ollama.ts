// A scripted Ollama server on 127.0.0.1 for tests: `/api/chat` answers with streamed NDJSON from a scenario
// (tool calls, text, HTTP errors) with known token counts, and every request is logged.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export type MockReply =
  /** A streamed answer; `promptEvalCount`/`evalCount` go in the final chunk. */
  | { text?: string; toolCalls?: MockToolCall[]; promptEvalCount: number; evalCount: number }
  /** An HTTP error with Ollama's `{"error": ...}` body. */
  | { status: number; error: string };

export interface MockOllamaScenario {
  /** Reply `i` answers a request whose conversation already holds `i` assistant messages. */
  replies: MockReply[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  body: any;
}

export interface MockOllama {
  url: string;
  requests: LoggedRequest[];
  /** Sums of the token counts of the answers sent so far. */
  usageSent(): { inputTokens: number; outputTokens: number };
  close(): Promise<void>;
}

/** The usual scenario: write `file` with `content` through write_file, then finish with a message. */
export function writeFileScenario(file: string, content: string): MockOllamaScenario {
  return {
    replies: [
      { text: 'I will create the file.', toolCalls: [{ name: 'write_file', arguments: { path: file, content } }], promptEvalCount: 120, evalCount: 30 },
      { text: `Created ${file}.`, promptEvalCount: 180, evalCount: 12 },
    ],
  };
}

export async function startMockOllama(scenario: MockOllamaScenario): Promise<MockOllama> {
  const requests: LoggedRequest[] = [];
  const sent = { inputTokens: 0, outputTokens: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: any = raw;
    try {
      body = raw === '' ? null : JSON.parse(raw);
    } catch {
      // logged as text
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? '', path, body });
    if (req.method === 'GET' && path === '/api/version') return json(res, 200, { version: '0.0.0-mock' });
    if (req.method !== 'POST' || path !== '/api/chat') return json(res, 404, { error: `no route ${req.method} ${path}` });
    const turn = Array.isArray(body?.messages) ? body.messages.filter((m: any) => m?.role === 'assistant').length : 0;
    const reply = scenario.replies[turn];
    if (reply === undefined) return json(res, 500, { error: `mock scenario has no reply for turn ${turn}` });
    if ('status' in reply) return json(res, reply.status, { error: reply.error });
    sent.inputTokens += reply.promptEvalCount;
    sent.outputTokens += reply.evalCount;
    streamReply(res, String(body.model), reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    usageSent: () => ({ ...sent }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Like Ollama: text in several delta chunks, tool calls in a chunk of their own, then the `done` chunk. */
function streamReply(res: ServerResponse, model: string, reply: Extract<MockReply, { promptEvalCount: number }>): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const chunk = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    res.write(`${JSON.stringify({ model, created_at: new Date().toISOString(), message: { role: 'assistant', ...message }, done: false, ...extra })}\n`);
  const text = reply.text ?? '';
  const half = Math.ceil(text.length / 2);
  for (const part of [text.slice(0, half), text.slice(half)]) if (part !== '') chunk({ content: part });
  if (reply.toolCalls !== undefined && reply.toolCalls.length > 0) {
    chunk({ content: '', tool_calls: reply.toolCalls.map((call) => ({ function: { name: call.name, arguments: call.arguments } })) });
  }
  chunk({ content: '' }, {
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 1_000,
    prompt_eval_count: reply.promptEvalCount,
    prompt_eval_duration: 1_000,
    eval_count: reply.evalCount,
    eval_duration: 1_000,
  });
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
