// The OpenAI provider: POST {base}/chat/completions with `stream: true` (Chat Completions, which vLLM,
// LiteLLM, OpenRouter and Ollama's /v1 speak too). The answer streams as server-sent `data:` chunks: text in
// `delta.content`, tool calls in `delta.tool_calls` fragments keyed by index (id and name first, the JSON
// arguments in pieces), a `finish_reason`, then a usage chunk (`stream_options.include_usage`) and `[DONE]`.
import { baseUrlFrom, checkHttpUrl, fetchFailure, probeTcp } from '../connect.js';
import { postForStream } from '../http.js';
import { argumentsOf, isObject, parseObject, tokenCount, type Json } from '../json.js';
import { ProviderError, type ChatMessage, type ChatRequest, type ChatTurn, type Provider, type ProviderOptions, type ToolCall } from '../provider.js';
import { streamSseEvents } from '../sse.js';

const LABEL = 'OpenAI';
/** With `/v1`, as OPENAI_BASE_URL holds it. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** A tool call as its fragments stream in. */
interface PendingCall {
  id: string;
  name: string;
  args: string;
}

export function createOpenAiProvider(options: ProviderOptions): Provider {
  const baseUrl = baseUrlFrom(options.env, 'OPENAI_BASE_URL', OPENAI_DEFAULT_BASE_URL);
  const key = options.env.OPENAI_API_KEY?.trim() ?? '';
  let callCount = 0;

  async function probe(): Promise<void> {
    checkHttpUrl(LABEL, baseUrl, 'OPENAI_BASE_URL');
    // A local server (vLLM, Ollama) may need no key; OpenAI's own API always does, so say so before asking.
    if (key === '' && baseUrl === OPENAI_DEFAULT_BASE_URL) {
      throw new ProviderError(`no API key for ${LABEL} at ${baseUrl}: set OPENAI_API_KEY or providers.openai.apiKey`, 'auth');
    }
    await probeTcp(LABEL, baseUrl, options.connectTimeoutMs);
  }

  async function chat(request: ChatRequest): Promise<ChatTurn> {
    let text = '';
    const calls = new Map<number, PendingCall>();
    let usage: Json | null = null;
    let finished = false;
    try {
      const body = await postForStream({
        label: LABEL,
        url: `${baseUrl}/chat/completions`,
        headers: key === '' ? {} : { authorization: `Bearer ${key}` },
        body: requestBody(request),
        timeoutMs: options.requestTimeoutMs,
      });
      for await (const event of streamSseEvents(body)) {
        if (event.data.trim() === '[DONE]') {
          finished = true;
          break;
        }
        const chunk = parseObject(event.data);
        if (chunk === null) throw new ProviderError(`${LABEL} sent an event that is not a JSON object: ${event.data.slice(0, 200)}`, 'api');
        if (chunk.error !== undefined && chunk.error !== null) throw streamError(chunk.error);
        // Some servers repeat the running usage in every chunk: the last one holds the totals.
        if (isObject(chunk.usage)) usage = chunk.usage;
        for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
          if (!isObject(choice)) continue;
          const delta = isObject(choice.delta) ? choice.delta : {};
          if (typeof delta.content === 'string') text += delta.content;
          for (const fragment of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) addFragment(calls, fragment);
          if (typeof choice.finish_reason === 'string') finished = true;
        }
      }
    } catch (err) {
      throw fetchFailure(LABEL, baseUrl, err, options.requestTimeoutMs);
    }
    // `[DONE]` is the end; a server that omits it has still said it finished through `finish_reason`.
    if (!finished) throw new ProviderError(`${LABEL} at ${baseUrl} ended the stream before the answer finished`, 'network');
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => toolCall(call, (callCount += 1)));
    return { text, toolCalls, ...tokens(usage) };
  }

  return { label: LABEL, baseUrl, probe, chat };
}

function requestBody(request: ChatRequest): Json {
  return {
    model: request.model,
    stream: true,
    stream_options: { include_usage: true },
    messages: request.messages.map(wireMessage),
    tools: request.tools.map((spec) => ({ type: 'function', function: spec })),
    // The current name of the cap; OpenAI's reasoning models refuse the older `max_tokens`.
    ...(request.maxTokens === null ? {} : { max_completion_tokens: request.maxTokens }),
  };
}

function wireMessage(message: ChatMessage): Json {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.text };
    case 'assistant':
      if (message.toolCalls.length === 0) return { role: 'assistant', content: message.text };
      return {
        role: 'assistant',
        content: message.text === '' ? null : message.text,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.input) },
        })),
      };
    case 'tool':
      // Chat Completions has no error flag for tool results: the model reads the prefix.
      return { role: 'tool', tool_call_id: message.callId, content: message.isError ? `Error: ${message.output}` : message.output };
  }
}

/** Adds one `delta.tool_calls` entry to the call at its index (servers that send whole calls omit the index). */
function addFragment(calls: Map<number, PendingCall>, value: unknown): void {
  if (!isObject(value)) return;
  const fn = isObject(value.function) ? value.function : {};
  const id = typeof value.id === 'string' ? value.id : '';
  const index = typeof value.index === 'number' ? value.index : calls.size;
  const call = calls.get(index) ?? { id: '', name: '', args: '' };
  calls.set(index, call);
  if (call.id === '' && id !== '') call.id = id;
  if (call.name === '' && typeof fn.name === 'string') call.name = fn.name;
  if (typeof fn.arguments === 'string') call.args += fn.arguments;
  else if (isObject(fn.arguments)) call.args = JSON.stringify(fn.arguments);
}

function toolCall(call: PendingCall, n: number): ToolCall {
  return { id: call.id === '' ? `call_${n}` : call.id, name: call.name, input: argumentsOf(call.args) };
}

/** `prompt_tokens` includes the cached ones; kage counts those apart, as Anthropic does. OpenAI reports no cache writes. */
function tokens(usage: Json | null): Pick<ChatTurn, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'> {
  const details = isObject(usage?.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const prompt = tokenCount(usage?.prompt_tokens);
  const cached = Math.min(tokenCount(details.cached_tokens), prompt);
  return { inputTokens: prompt - cached, outputTokens: tokenCount(usage?.completion_tokens), cacheReadTokens: cached, cacheWriteTokens: 0 };
}

/** An error chunk in the stream (`{"error":{"message","type"}}`, or a bare string from some servers). */
function streamError(value: unknown): ProviderError {
  const error = isObject(value) ? value : { message: value };
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : JSON.stringify(value);
  const type = typeof error.type === 'string' ? error.type : '';
  const rateLimited = type.includes('rate_limit') || error.code === 429;
  return new ProviderError(`${LABEL} error${type === '' ? '' : ` (${type})`}: ${message}`, rateLimited ? 'rate_limit' : 'api');
}
