// A protocol-neutral view of one model request: the part of it the scenarios look at. Each protocol
// module turns its own request body into this shape.

/** A tool the request offers the model. */
export interface OfferedTool {
  name: string;
  /** `custom`: an OpenAI Responses freeform tool (Codex's `apply_patch`), which takes a plain string. */
  kind: 'function' | 'custom';
  /** Property names of the tool's JSON-schema parameters (empty for custom tools). */
  parameters: readonly string[];
}

/** One message, reduced to its text and whether it carries tool results. */
export interface NeutralMessage {
  /** `system` covers system prompts, Claude Code's mid-conversation system entries and developer messages. */
  role: 'system' | 'user' | 'assistant';
  texts: string[];
  /** Text of the tool results the message carries (function outputs, `tool` role messages). */
  toolResults: string[];
}

export interface ParsedRequest {
  model: string | null;
  stream: boolean;
  /** Whether a streamed answer reports usage: Chat Completions only with `stream_options.include_usage`. */
  streamUsage: boolean;
  messages: NeutralMessage[];
  tools: OfferedTool[];
  /** The JSON schema the answer must satisfy (a JSON-mode side call), or null. */
  responseSchema: unknown;
}

/** Texts of user messages, in order: where markers are looked for. */
export function userTexts(request: ParsedRequest): string[] {
  return request.messages.filter((m) => m.role === 'user').flatMap((m) => m.texts);
}

/** Every text in the request, system prompts and tool results included: where the working directory is looked for. */
export function allTexts(request: ParsedRequest): string[] {
  return request.messages.flatMap((m) => [...m.texts, ...m.toolResults]);
}

/**
 * True when a tool result came after the last user prompt, i.e. the model's tool call has been answered.
 * A prompt is a user message with text and no tool result: Claude Code puts reminder text beside its
 * tool results in one message, and that must not count as a new prompt. Looking only after the last prompt
 * lets a resumed session with a new prompt start a new `write`.
 */
export function toolResultPending(request: ParsedRequest): boolean {
  let pending = false;
  for (const message of request.messages) {
    if (message.toolResults.length > 0) pending = true;
    else if (message.role === 'user' && message.texts.some((t) => t.trim() !== '')) pending = false;
  }
  return pending;
}

/** Property names of a JSON schema's top-level `properties`. */
export function schemaProperties(schema: unknown): string[] {
  if (!isObject(schema) || !isObject(schema.properties)) return [];
  return Object.keys(schema.properties);
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Text of a content that is a string or an array of `{type:"text"|…, text}` parts. */
export function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  return asArray(content).flatMap((part) => (isObject(part) && typeof part.text === 'string' ? [part.text] : []));
}
