// What the agent loop needs from a model API, in provider-neutral terms. Each provider (providers/*.ts)
// maps this conversation onto its wire format and streams one answer back.
import type { WorkerErrorKind } from './records.js';
import type { ToolSpec } from './tools/specs.js';

export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'system' | 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls: ToolCall[] }
  | { role: 'tool'; callId: string; name: string; output: string; isError: boolean };

export interface ChatRequest {
  model: string;
  messages: readonly ChatMessage[];
  tools: readonly ToolSpec[];
  /** Cap on the answer's tokens; null = the provider's default (Anthropic requires one, so it has its own). */
  maxTokens: number | null;
}

/**
 * One answer of the model and its tokens. Input is split the way Anthropic reports it: `inputTokens` are the
 * prompt tokens read fresh, not those read from the prompt cache (`cacheReadTokens`) or written to it
 * (`cacheWriteTokens`); the three add up to the whole prompt.
 */
export interface ChatTurn {
  text: string;
  toolCalls: ToolCall[];
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface Provider {
  /** Shown in messages: `cannot reach Ollama at ...`. */
  readonly label: string;
  /** The base URL requests go to. */
  readonly baseUrl: string;
  /** Fails fast, with kind `unreachable`, when nothing listens at the base URL. */
  probe(): Promise<void>;
  chat(request: ChatRequest): Promise<ChatTurn>;
}

/** A request that failed; `status` is the HTTP status when the API answered. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: WorkerErrorKind,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export interface ProviderOptions {
  /** The worker's environment: where endpoints and keys come from. */
  env: NodeJS.ProcessEnv;
  /** Longest wait for a TCP connection before the endpoint counts as unreachable. */
  connectTimeoutMs: number;
  /** Longest time one request may take, answer included. */
  requestTimeoutMs: number;
}
