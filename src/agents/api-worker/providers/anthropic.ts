// The Anthropic provider: POST {base}/v1/messages with `stream: true` (the Messages API). The answer streams
// as server-sent events: message_start (prompt usage, cache reads and writes), content_block_start/delta/stop
// (text deltas; tool_use blocks whose JSON input arrives as `partial_json` pieces), message_delta (stop
// reason, output tokens), message_stop; an `error` event ends a stream that failed midway.
import { baseUrlFrom, checkHttpUrl, fetchFailure, probeTcp } from '../connect.js';
import { postForStream } from '../http.js';
import { argumentsOf, isObject, parseObject, tokenCount, type Json } from '../json.js';
import { ProviderError, type ChatMessage, type ChatRequest, type ChatTurn, type Provider, type ProviderOptions, type ToolCall } from '../provider.js';
import type { WorkerErrorKind } from '../records.js';
import { streamSseEvents } from '../sse.js';

const LABEL = 'Anthropic';
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';
/** `max_tokens` when the run names none: the Messages API requires one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 8192;

/**
 * Marks the end of a prompt prefix to cache. One on the system prompt (tools and system never change) and one
 * on the newest block, so each turn reads the conversation so far from the cache instead of paying for it again.
 */
const CACHE_BREAKPOINT = Object.freeze({ type: 'ephemeral' });

/** A content block as it streams in, by its index. */
type Block = { kind: 'text'; text: string } | { kind: 'tool_use'; id: string; name: string; json: string; input: unknown } | { kind: 'other' };

export function createAnthropicProvider(options: ProviderOptions): Provider {
  const baseUrl = baseUrlFrom(options.env, 'ANTHROPIC_BASE_URL', ANTHROPIC_DEFAULT_BASE_URL);
  const auth = authHeaders(options.env);
  let callCount = 0;

  async function probe(): Promise<void> {
    checkHttpUrl(LABEL, baseUrl, 'ANTHROPIC_BASE_URL');
    // A proxy or gateway may need no key; Anthropic's own API always does, so say so before asking.
    if (auth === null && baseUrl === ANTHROPIC_DEFAULT_BASE_URL) {
      throw new ProviderError(`no API key for ${LABEL} at ${baseUrl}: set ANTHROPIC_API_KEY or providers.anthropic.apiKey`, 'auth');
    }
    await probeTcp(LABEL, baseUrl, options.connectTimeoutMs);
  }

  async function chat(request: ChatRequest): Promise<ChatTurn> {
    const blocks = new Map<number, Block>();
    const usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    let stopped = false;
    try {
      const body = await postForStream({
        label: LABEL,
        url: `${baseUrl}/v1/messages`,
        headers: { 'anthropic-version': ANTHROPIC_VERSION, ...auth },
        body: requestBody(request),
        timeoutMs: options.requestTimeoutMs,
      });
      for await (const event of streamSseEvents(body)) {
        const data = parseObject(event.data);
        if (data === null) throw new ProviderError(`${LABEL} sent an event that is not a JSON object: ${event.data.slice(0, 200)}`, 'api');
        switch (data.type) {
          case 'message_start':
            addUsage(usage, isObject(data.message) ? data.message.usage : undefined);
            break;
          case 'content_block_start':
            blocks.set(indexOf(data), startBlock(data.content_block));
            break;
          case 'content_block_delta':
            applyDelta(blocks.get(indexOf(data)), data.delta);
            break;
          case 'message_delta':
            // Its counts are the message's totals so far: they replace the ones from message_start.
            addUsage(usage, data.usage);
            break;
          case 'message_stop':
            stopped = true;
            break;
          case 'error':
            throw streamError(data.error);
          default:
            // ping, content_block_stop, and event types added later
            break;
        }
      }
    } catch (err) {
      throw fetchFailure(LABEL, baseUrl, err, options.requestTimeoutMs);
    }
    if (!stopped) throw new ProviderError(`${LABEL} at ${baseUrl} ended the stream before message_stop`, 'network');
    const ordered = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block);
    return {
      text: ordered.map((b) => (b.kind === 'text' ? b.text : '')).join(''),
      toolCalls: ordered.flatMap((b) => (b.kind === 'tool_use' ? [toolCall(b, (callCount += 1))] : [])),
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      cacheReadTokens: usage.cache_read_input_tokens,
      cacheWriteTokens: usage.cache_creation_input_tokens,
    };
  }

  return { label: LABEL, baseUrl, probe, chat };
}

/** `x-api-key` for an API key; a bearer token (ANTHROPIC_AUTH_TOKEN, as Claude Code reads it) otherwise. */
function authHeaders(env: NodeJS.ProcessEnv): Record<string, string> | null {
  const key = env.ANTHROPIC_API_KEY?.trim();
  if (key) return { 'x-api-key': key };
  const token = env.ANTHROPIC_AUTH_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : null;
}

function requestBody(request: ChatRequest): Json {
  const system = request.messages.flatMap((m) => (m.role === 'system' ? [m.text] : [])).join('\n\n');
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    stream: true,
    ...(system === '' ? {} : { system: [{ type: 'text', text: system, cache_control: CACHE_BREAKPOINT }] }),
    messages: wireMessages(request.messages),
    tools: request.tools.map((spec) => ({ name: spec.name, description: spec.description, input_schema: spec.parameters })),
  };
}

/**
 * The conversation as alternating user and assistant messages of content blocks: tool results go back as
 * `tool_result` blocks of one user message, and blank text blocks (which the API refuses) are left out.
 */
function wireMessages(messages: readonly ChatMessage[]): Json[] {
  const wire: { role: 'user' | 'assistant'; content: Json[] }[] = [];
  const push = (role: 'user' | 'assistant', block: Json): void => {
    const last = wire.at(-1);
    if (last?.role === role) last.content.push(block);
    else wire.push({ role, content: [block] });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        if (message.text.trim() !== '') push('user', { type: 'text', text: message.text });
        break;
      case 'assistant':
        if (message.text.trim() !== '') push('assistant', { type: 'text', text: message.text });
        for (const call of message.toolCalls) push('assistant', { type: 'tool_use', id: call.id, name: call.name, input: call.input });
        break;
      case 'tool':
        push('user', {
          type: 'tool_result',
          tool_use_id: message.callId,
          ...(message.output === '' ? {} : { content: message.output }),
          is_error: message.isError,
        });
        break;
    }
  }
  const newest = wire.at(-1)?.content.at(-1);
  if (newest !== undefined) newest.cache_control = CACHE_BREAKPOINT;
  return wire;
}

function indexOf(data: Json): number {
  return typeof data.index === 'number' ? data.index : -1;
}

function startBlock(value: unknown): Block {
  const block = isObject(value) ? value : {};
  if (block.type === 'text') return { kind: 'text', text: typeof block.text === 'string' ? block.text : '' };
  if (block.type === 'tool_use') {
    return { kind: 'tool_use', id: typeof block.id === 'string' ? block.id : '', name: typeof block.name === 'string' ? block.name : '', json: '', input: block.input };
  }
  return { kind: 'other' };
}

function applyDelta(block: Block | undefined, value: unknown): void {
  const delta = isObject(value) ? value : {};
  if (block?.kind === 'text' && delta.type === 'text_delta' && typeof delta.text === 'string') block.text += delta.text;
  if (block?.kind === 'tool_use' && delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') block.json += delta.partial_json;
}

function toolCall(block: Extract<Block, { kind: 'tool_use' }>, n: number): ToolCall {
  // The input streams as JSON text; a tool without arguments streams none and keeps the start's `{}`.
  const input = block.json.trim() === '' ? argumentsOf(block.input) : argumentsOf(block.json);
  return { id: block.id === '' ? `call_${n}` : block.id, name: block.name, input };
}

/** Takes each count the usage object carries. */
function addUsage(usage: Record<string, number>, value: unknown): void {
  if (!isObject(value)) return;
  for (const key of Object.keys(usage)) {
    if (typeof value[key] === 'number') usage[key] = tokenCount(value[key]);
  }
}

/** Error types of Anthropic's `error` event, by the kind they mean. */
const STREAM_ERROR_KINDS: Readonly<Record<string, WorkerErrorKind>> = Object.freeze({
  overloaded_error: 'overloaded',
  rate_limit_error: 'rate_limit',
  authentication_error: 'auth',
  permission_error: 'auth',
});

function streamError(value: unknown): ProviderError {
  const error = isObject(value) ? value : {};
  const type = typeof error.type === 'string' ? error.type : 'error';
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : 'no message';
  return new ProviderError(`${LABEL} error (${type}): ${message}`, (Object.hasOwn(STREAM_ERROR_KINDS, type) ? STREAM_ERROR_KINDS[type] : undefined) ?? 'api');
}
