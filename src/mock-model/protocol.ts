// What each wire protocol module provides, and the helpers they share.
import { randomBytes } from 'node:crypto';
import type { Json, ParsedRequest } from './conversation.js';
import type { Answer } from './plan.js';

export type ProtocolName = 'anthropic' | 'openai-chat' | 'openai-responses' | 'gemini' | 'ollama';

/** A rendered answer: one JSON body, or the chunks of a stream written one by one (delays go between them). */
export type Rendered =
  | { kind: 'json'; body: unknown }
  | { kind: 'stream'; contentType: string; chunks: string[] };

export interface Protocol {
  name: ProtocolName;
  /** The neutral view of a request body; `url` carries what some protocols put in the path (Gemini's model). */
  parse(body: Json, url: URL): ParsedRequest;
  /** The body of an HTTP error, shaped so the protocol's clients read `message`. */
  errorBody(status: number, message: string): unknown;
  render(answer: Answer, request: ParsedRequest, url: URL): Rendered;
}

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** One SSE event with a name (Anthropic, Responses). */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One unnamed SSE event (Chat Completions, Gemini). */
export function sseData(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export function newId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

/** `text` cut in two, at the space nearest the middle when there is one, so clients have to join deltas. */
export function halves(text: string): string[] {
  if (text.length < 2) return [text];
  const middle = Math.ceil(text.length / 2);
  const before = text.lastIndexOf(' ', middle);
  const after = text.indexOf(' ', middle);
  const candidates = [before, after].filter((i) => i > 0 && i < text.length - 1);
  const cut = candidates.length === 0 ? middle : candidates.reduce((a, b) => (Math.abs(a - middle) <= Math.abs(b - middle) ? a : b)) + 1;
  return [text.slice(0, cut), text.slice(cut)];
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The JSON arguments of a call; a custom call (only the Responses API has them) becomes `{input}` elsewhere. */
export function callArguments(answer: Extract<Answer, { kind: 'tool' }>): Record<string, unknown> {
  const { call } = answer;
  return call.kind === 'function' ? call.arguments : { input: call.input };
}
