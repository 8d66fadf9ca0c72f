// Ollama: `POST /api/chat`, streamed as NDJSON (the default when `stream` is absent) or one JSON object;
// tool call arguments are objects, not JSON strings, and the final `done:true` chunk carries the counts.
// kage's API worker speaks it (tools read_file, write_file {path (relative), content}, list_files, …).
import { asString, type Json, type ParsedRequest } from './conversation.js';
import { parseChatMessages } from './openai-chat.js';
import type { Answer } from './plan.js';
import { callArguments, halves, type Protocol, type Rendered } from './protocol.js';

export const OLLAMA_VERSION = '0.12.0';

export const ollamaProtocol: Protocol = {
  name: 'ollama',
  parse,
  errorBody: (_status, message) => ({ error: message }),
  render,
};

function parse(body: Json): ParsedRequest {
  return { model: asString(body.model), stream: body.stream !== false, streamUsage: true, ...parseChatMessages(body), responseSchema: null };
}

function render(answer: Answer, request: ParsedRequest): Rendered {
  const model = request.model ?? 'mock-model';
  const createdAt = new Date().toISOString();
  const toolCalls = answer.kind === 'tool' ? [{ function: { name: answer.call.name, arguments: callArguments(answer) } }] : [];
  const counts = {
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 0,
    prompt_eval_count: answer.usage.inputTokens,
    prompt_eval_duration: 500_000,
    eval_count: answer.usage.outputTokens,
    eval_duration: 500_000,
  };
  if (!request.stream) {
    const message = { role: 'assistant', content: answer.kind === 'text' ? answer.text : '', ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
    return { kind: 'json', body: { model, created_at: createdAt, message, done: true, ...counts } };
  }
  const line = (value: Json): string => `${JSON.stringify({ model, created_at: createdAt, ...value })}\n`;
  const messages = answer.kind === 'tool'
    ? [{ role: 'assistant', content: '', tool_calls: toolCalls }]
    : halves(answer.text).map((content) => ({ role: 'assistant', content }));
  return {
    kind: 'stream',
    contentType: 'application/x-ndjson',
    chunks: [...messages.map((message) => line({ message, done: false })), line({ message: { role: 'assistant', content: '' }, done: true, ...counts })],
  };
}

/** `GET /api/tags`: one model, so probes that list models find something. */
export function ollamaTags(): Json {
  return {
    models: [{
      name: 'mock-model:latest',
      model: 'mock-model:latest',
      modified_at: '2026-01-01T00:00:00Z',
      size: 0,
      digest: '0'.repeat(64),
      details: { format: 'gguf', family: 'mock', parameter_size: '0B', quantization_level: 'none' },
    }],
  };
}
