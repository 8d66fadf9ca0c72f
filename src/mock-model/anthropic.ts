// Anthropic Messages: `POST /v1/messages` (Claude Code adds `?beta=true`), streamed as named SSE events or
// answered with one message. Claude Code 2.1.x always streams, and sends `role:"system"` entries inside
// `messages` (its environment block with "Primary working directory:" is one), which the real API would
// reject but a mock must accept.
import { asArray, asString, isObject, schemaProperties, textsOf, type Json, type NeutralMessage, type ParsedRequest } from './conversation.js';
import type { Answer } from './plan.js';
import { callArguments, halves, newId, sseEvent, SSE_CONTENT_TYPE, type Protocol, type Rendered } from './protocol.js';
import type { MockTurnUsage } from './usage.js';

export const anthropicProtocol: Protocol = {
  name: 'anthropic',
  parse,
  errorBody: (_status, message) => ({ type: 'error', error: { type: 'invalid_request_error', message } }),
  render,
};

function parse(body: Json): ParsedRequest {
  const messages: NeutralMessage[] = [];
  const system = textsOf(body.system);
  if (system.length > 0) messages.push({ role: 'system', texts: system, toolResults: [] });
  for (const message of asArray(body.messages)) {
    if (!isObject(message)) continue;
    const role = message.role === 'assistant' ? 'assistant' : message.role === 'system' ? 'system' : 'user';
    const texts: string[] = [];
    const toolResults: string[] = [];
    if (typeof message.content === 'string') texts.push(message.content);
    for (const block of asArray(message.content)) {
      if (!isObject(block)) continue;
      if (block.type === 'tool_result') toolResults.push(textsOf(block.content).join('\n'));
      else if (typeof block.text === 'string') texts.push(block.text);
    }
    messages.push({ role, texts, toolResults });
  }
  const tools = asArray(body.tools).flatMap((tool) => {
    const name = isObject(tool) ? asString(tool.name) : null;
    return name === null || !isObject(tool) ? [] : [{ name, kind: 'function' as const, parameters: schemaProperties(tool.input_schema) }];
  });
  return { model: asString(body.model), stream: body.stream === true, streamUsage: true, messages, tools, responseSchema: null };
}

function render(answer: Answer, request: ParsedRequest): Rendered {
  const id = newId('msg_');
  const model = request.model ?? 'mock-model';
  const stopReason = answer.kind === 'tool' ? 'tool_use' : 'end_turn';
  const toolId = newId('toolu_');
  if (!request.stream) {
    const content = answer.kind === 'tool'
      ? [{ type: 'tool_use', id: toolId, name: answer.call.name, input: callArguments(answer) }]
      : [{ type: 'text', text: answer.text }];
    return {
      kind: 'json',
      body: { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: usage(answer.usage, answer.usage.outputTokens) },
    };
  }
  const block = answer.kind === 'tool'
    ? { start: { type: 'tool_use', id: toolId, name: answer.call.name, input: {} }, deltas: halves(JSON.stringify(callArguments(answer))).map((partial_json) => ({ type: 'input_json_delta', partial_json })) }
    : { start: { type: 'text', text: '' }, deltas: halves(answer.text).map((text) => ({ type: 'text_delta', text })) };
  // message_start carries the input and cache counts with a placeholder output of 1, as the real API does;
  // the final output count comes in message_delta. Claude Code copies message_start into its per-message usage.
  return {
    kind: 'stream',
    contentType: SSE_CONTENT_TYPE,
    chunks: [
      sseEvent('message_start', {
        type: 'message_start',
        message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usage(answer.usage, 1) },
      }),
      sseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: block.start }),
      ...block.deltas.map((delta) => sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta })),
      sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
      sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: answer.usage.outputTokens } }),
      sseEvent('message_stop', { type: 'message_stop' }),
    ],
  };
}

function usage(counts: MockTurnUsage, outputTokens: number): Json {
  return {
    input_tokens: counts.inputTokens,
    cache_creation_input_tokens: counts.cacheWriteTokens,
    cache_read_input_tokens: counts.cacheReadTokens,
    output_tokens: outputTokens,
  };
}
