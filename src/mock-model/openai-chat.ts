// OpenAI Chat Completions: `POST /v1/chat/completions`, as `chat.completion.chunk` SSE or one
// `chat.completion`. OpenCode (`@ai-sdk/openai-compatible`) and Qwen Code speak it, both with
// `stream_options.include_usage`; a `role:"tool"` message in the history is the tool result.
// OpenCode first sends a title call (no tools, "You are a title generator…"), then the turn with tools
// bash, edit, glob, grep, read, skill, task, todowrite, webfetch, write {filePath, content}. Qwen Code 0.15
// sends no side call; its tools include list_directory, glob, run_shell_command, write_file {file_path}.
// Qwen Code 0.15.10 with `-o stream-json` turns an HTTP error into assistant text ("[API Error: 400 mock 400
// error]") and still exits 0 with `is_error:false`; only `-o text` exits 1.
import { asArray, asString, isObject, schemaProperties, textsOf, type Json, type NeutralMessage, type ParsedRequest } from './conversation.js';
import type { Answer } from './plan.js';
import { callArguments, halves, newId, sseData, SSE_CONTENT_TYPE, unixSeconds, type Protocol, type Rendered } from './protocol.js';
import type { MockTurnUsage } from './usage.js';

export const openAiChatProtocol: Protocol = {
  name: 'openai-chat',
  parse,
  errorBody: (status, message) => ({ error: { message, type: 'invalid_request_error', code: status } }),
  render,
};

/** Messages and tools as both Chat Completions and Ollama send them. */
export function parseChatMessages(body: Json): Pick<ParsedRequest, 'messages' | 'tools'> {
  const messages: NeutralMessage[] = [];
  for (const message of asArray(body.messages)) {
    if (!isObject(message)) continue;
    const texts = textsOf(message.content);
    if (message.role === 'tool') messages.push({ role: 'user', texts: [], toolResults: [texts.join('\n')] });
    else if (message.role === 'system' || message.role === 'developer') messages.push({ role: 'system', texts, toolResults: [] });
    else messages.push({ role: message.role === 'assistant' ? 'assistant' : 'user', texts, toolResults: [] });
  }
  const tools = asArray(body.tools).flatMap((tool) => {
    const fn = isObject(tool) && isObject(tool.function) ? tool.function : null;
    const name = fn === null ? null : asString(fn.name);
    return name === null || fn === null ? [] : [{ name, kind: 'function' as const, parameters: schemaProperties(fn.parameters) }];
  });
  return { messages, tools };
}

function parse(body: Json): ParsedRequest {
  const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
  return {
    model: asString(body.model),
    stream: body.stream === true,
    streamUsage: streamOptions.include_usage === true,
    ...parseChatMessages(body),
    responseSchema: null,
  };
}

function render(answer: Answer, request: ParsedRequest): Rendered {
  const id = newId('chatcmpl-');
  const created = unixSeconds();
  const model = request.model ?? 'mock-model';
  const finishReason = answer.kind === 'tool' ? 'tool_calls' : 'stop';
  const callId = newId('call_');
  if (!request.stream) {
    const message = answer.kind === 'tool'
      ? { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: answer.call.name, arguments: JSON.stringify(callArguments(answer)) } }] }
      : { role: 'assistant', content: answer.text };
    return {
      kind: 'json',
      body: { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finishReason }], usage: usage(answer.usage) },
    };
  }
  const chunk = (choices: unknown[], extra: Json = {}): string => sseData({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
  const delta = (value: Json, finish: string | null = null): string => chunk([{ index: 0, delta: value, finish_reason: finish }]);
  const deltas = answer.kind === 'tool'
    ? [
        delta({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: answer.call.name, arguments: '' } }] }),
        ...halves(JSON.stringify(callArguments(answer))).map((args) => delta({ tool_calls: [{ index: 0, function: { arguments: args } }] })),
      ]
    : [delta({ role: 'assistant', content: '' }), ...halves(answer.text).map((content) => delta({ content }))];
  return {
    kind: 'stream',
    contentType: SSE_CONTENT_TYPE,
    chunks: [
      ...deltas,
      delta({}, finishReason),
      ...(request.streamUsage ? [chunk([], { usage: usage(answer.usage) })] : []),
      'data: [DONE]\n\n',
    ],
  };
}

function usage(counts: MockTurnUsage): Json {
  return {
    prompt_tokens: counts.inputTokens,
    completion_tokens: counts.outputTokens,
    total_tokens: counts.inputTokens + counts.outputTokens,
    prompt_tokens_details: { cached_tokens: counts.cacheReadTokens },
  };
}
