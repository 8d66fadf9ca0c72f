// The Ollama provider: POST {host}/api/chat with `stream: true`, tools in Ollama's function-calling format;
// the answer streams back as NDJSON chunks (text deltas, `message.tool_calls`, and a final `done: true`
// chunk with `prompt_eval_count`/`eval_count`). Ollama reports no prompt caching: cache counts stay 0.
import { fetchFailure, probeTcp } from '../connect.js';
import { postForStream } from '../http.js';
import { argumentsOf, isObject, parseObject, tokenCount, type Json } from '../json.js';
import { streamLines } from '../ndjson.js';
import { ProviderError, type ChatMessage, type ChatRequest, type ChatTurn, type Provider, type ProviderOptions, type ToolCall } from '../provider.js';
import { ollamaBaseUrl } from './ollama-host.js';

const LABEL = 'Ollama';

export function createOllamaProvider(options: ProviderOptions): Provider {
  const baseUrl = ollamaBaseUrl(options.env.OLLAMA_HOST);
  // Ollama's cloud API (and kage's gateway) take OLLAMA_API_KEY as a Bearer token; a local server ignores it.
  const key = options.env.OLLAMA_API_KEY?.trim() ?? '';
  const headers: Record<string, string> = key === '' ? {} : { authorization: `Bearer ${key}` };
  let callCount = 0;

  async function chat(request: ChatRequest): Promise<ChatTurn> {
    const turn: ChatTurn = { text: '', toolCalls: [], inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    let done = false;
    try {
      const body = await postForStream({
        label: LABEL, url: `${baseUrl}/api/chat`, headers, body: requestBody(request), timeoutMs: options.requestTimeoutMs,
      });
      for await (const line of streamLines(body)) {
        const chunk = parseChunk(line);
        if (typeof chunk.error === 'string') throw new ProviderError(`${LABEL} error: ${chunk.error}`, 'api');
        const message = isObject(chunk.message) ? chunk.message : {};
        if (typeof message.content === 'string') turn.text += message.content;
        for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) turn.toolCalls.push(toolCall(call, (callCount += 1)));
        if (chunk.done === true) {
          turn.inputTokens = tokenCount(chunk.prompt_eval_count);
          turn.outputTokens = tokenCount(chunk.eval_count);
          done = true;
        }
      }
    } catch (err) {
      throw fetchFailure(LABEL, baseUrl, err, options.requestTimeoutMs);
    }
    if (!done) throw new ProviderError(`${LABEL} at ${baseUrl} ended the stream before the final chunk`, 'network');
    return turn;
  }

  return { label: LABEL, baseUrl, probe: () => probeTcp(LABEL, baseUrl, options.connectTimeoutMs), chat };
}

function requestBody(request: ChatRequest): Json {
  return {
    model: request.model,
    stream: true,
    messages: request.messages.map(wireMessage),
    tools: request.tools.map((spec) => ({ type: 'function', function: spec })),
    ...(request.maxTokens === null ? {} : { options: { num_predict: request.maxTokens } }),
  };
}

function wireMessage(message: ChatMessage): Json {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.text };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.text,
        ...(message.toolCalls.length === 0
          ? {}
          : { tool_calls: message.toolCalls.map((call) => ({ id: call.id, function: { name: call.name, arguments: call.input } })) }),
      };
    case 'tool':
      // Ollama has no error flag for tool results: the model reads the prefix.
      return { role: 'tool', tool_name: message.name, tool_call_id: message.callId, content: message.isError ? `Error: ${message.output}` : message.output };
  }
}

function toolCall(value: unknown, n: number): ToolCall {
  const call = isObject(value) ? value : {};
  const fn = isObject(call.function) ? call.function : {};
  const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${n}`;
  // Ollama sends an object; some models put a JSON string there instead.
  return { id, name: typeof fn.name === 'string' ? fn.name : '', input: argumentsOf(fn.arguments) };
}

function parseChunk(line: string): Json {
  const chunk = parseObject(line);
  if (chunk === null) throw new ProviderError(`${LABEL} sent a line that is not a JSON object: ${line.slice(0, 200)}`, 'api');
  return chunk;
}
