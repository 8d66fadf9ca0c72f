// OpenAI Responses: `POST /v1/responses`, streamed as `event:`/`data:` SSE pairs, or one response object.
// Codex 0.171 speaks only this (`wire_api="chat"` was removed). It first tries a WebSocket upgrade on
// `GET /v1/responses`; the server answers 426 and Codex falls back to HTTPS.
// Its `input` starts with two `developer` messages (system prompt, permissions), then user messages; the
// first holds `<environment_context>` with `<cwd>…</cwd>`. Tool results come back as `function_call_output`
// or `custom_tool_call_output` items.
import { asArray, asString, isObject, schemaProperties, textsOf, type Json, type NeutralMessage, type OfferedTool, type ParsedRequest } from './conversation.js';
import type { Answer } from './plan.js';
import { halves, newId, sseEvent, SSE_CONTENT_TYPE, unixSeconds, type Protocol, type Rendered } from './protocol.js';
import type { MockTurnUsage } from './usage.js';

export const openAiResponsesProtocol: Protocol = {
  name: 'openai-responses',
  parse,
  errorBody: (status, message) => ({ error: { message, type: 'invalid_request_error', code: status } }),
  render,
};

const TOOL_OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output', 'mcp_tool_call_output']);

function parse(body: Json): ParsedRequest {
  const messages: NeutralMessage[] = [];
  const instructions = asString(body.instructions);
  if (instructions !== null) messages.push({ role: 'system', texts: [instructions], toolResults: [] });
  if (typeof body.input === 'string') messages.push({ role: 'user', texts: [body.input], toolResults: [] });
  for (const item of asArray(body.input)) {
    if (!isObject(item)) continue;
    if (typeof item.type === 'string' && TOOL_OUTPUT_TYPES.has(item.type)) {
      messages.push({ role: 'user', texts: [], toolResults: [outputText(item.output)] });
    } else if (item.type === 'message' || (item.type === undefined && typeof item.role === 'string')) {
      const role = item.role === 'assistant' ? 'assistant' : item.role === 'user' ? 'user' : 'system';
      messages.push({ role, texts: textsOf(item.content), toolResults: [] });
    } else {
      // function_call, custom_tool_call, reasoning: the model's own output, nothing the scenarios read.
      messages.push({ role: 'assistant', texts: [], toolResults: [] });
    }
  }
  const tools = asArray(body.tools).flatMap((tool): OfferedTool[] => {
    const name = isObject(tool) ? asString(tool.name) : null;
    if (name === null || !isObject(tool)) return [];
    if (tool.type === 'custom') return [{ name, kind: 'custom', parameters: [] }];
    return tool.type === 'function' ? [{ name, kind: 'function', parameters: schemaProperties(tool.parameters) }] : [];
  });
  return { model: asString(body.model), stream: body.stream === true, streamUsage: true, messages, tools, responseSchema: null };
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (isObject(output) && typeof output.content === 'string') return output.content;
  return textsOf(output).join('\n');
}

function render(answer: Answer, request: ParsedRequest): Rendered {
  const response = { id: newId('resp_'), object: 'response', created_at: unixSeconds(), model: request.model ?? 'mock-model' };
  const item = outputItem(answer);
  const completed = { ...response, status: 'completed', output: [item.done], usage: usage(answer.usage) };
  if (!request.stream) return { kind: 'json', body: completed };
  let sequence = 0;
  const event = (type: string, data: Json): string => sseEvent(type, { type, sequence_number: sequence++, ...data });
  const at = { item_id: item.done.id, output_index: 0 };
  return {
    kind: 'stream',
    contentType: SSE_CONTENT_TYPE,
    chunks: [
      event('response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } }),
      event('response.output_item.added', { output_index: 0, item: item.added }),
      ...item.deltas.map(([type, data]) => event(type, { ...at, ...data })),
      event('response.output_item.done', { output_index: 0, item: item.done }),
      event('response.completed', { response: completed }),
    ],
  };
}

interface OutputItem {
  added: Json;
  done: Json & { id: string };
  /** The events between `output_item.added` and `.done`, without item_id/output_index. */
  deltas: Array<[string, Json]>;
}

function outputItem(answer: Answer): OutputItem {
  if (answer.kind === 'text') {
    const id = newId('msg_');
    const part = { type: 'output_text', text: answer.text, annotations: [] };
    const at = { content_index: 0 };
    return {
      added: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      done: { id, type: 'message', status: 'completed', role: 'assistant', content: [part] },
      deltas: [
        ['response.content_part.added', { ...at, part: { ...part, text: '' } }],
        ...halves(answer.text).map((delta): [string, Json] => ['response.output_text.delta', { ...at, delta }]),
        ['response.output_text.done', { ...at, text: answer.text }],
        ['response.content_part.done', { ...at, part }],
      ],
    };
  }
  const { call } = answer;
  const callId = newId('call_');
  if (call.kind === 'custom') {
    const id = newId('ctc_');
    return {
      added: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name: call.name, input: '' },
      done: { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name: call.name, input: call.input },
      deltas: [
        ...halves(call.input).map((delta): [string, Json] => ['response.custom_tool_call_input.delta', { delta }]),
        ['response.custom_tool_call_input.done', { input: call.input }],
      ],
    };
  }
  const id = newId('fc_');
  const args = JSON.stringify(call.arguments);
  return {
    added: { id, type: 'function_call', status: 'in_progress', call_id: callId, name: call.name, arguments: '' },
    done: { id, type: 'function_call', status: 'completed', call_id: callId, name: call.name, arguments: args },
    deltas: [
      ...halves(args).map((delta): [string, Json] => ['response.function_call_arguments.delta', { delta }]),
      ['response.function_call_arguments.done', { arguments: args }],
    ],
  };
}

function usage(counts: MockTurnUsage): Json {
  return {
    input_tokens: counts.inputTokens,
    input_tokens_details: { cached_tokens: counts.cacheReadTokens },
    output_tokens: counts.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: counts.inputTokens + counts.outputTokens,
  };
}
