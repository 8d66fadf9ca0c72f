// Writes Claude Code's stream-json lines for the fake agent: the same record shapes as a real run
// (see test/fixtures/transcripts/claude.jsonl), so the real parser reads them.
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Usage } from '../domain/index.js';
import { fakeCostUsd } from './fake-behaviours.js';

export interface FakeStreamOptions {
  out: Writable;
  cwd: string;
  model: string;
  /** Totals reported by the final `result` line. */
  usage: Usage;
  /** Pause before every line after `init` (the `slow` behaviour). */
  delayMs: number;
}

export interface FinalResult {
  isError: boolean;
  text: string;
  apiErrorStatus?: number;
  /** Defaults to the stream's usage; API errors report zero. */
  usage?: Usage;
}

export interface FakeStream {
  readonly sessionId: string;
  init(): Promise<void>;
  text(text: string): Promise<void>;
  toolUse(name: string, input: Record<string, unknown>): Promise<string>;
  toolResult(toolUseId: string, output: string, isError?: boolean): Promise<void>;
  apiErrorMessage(status: number, text: string): Promise<void>;
  result(final: FinalResult): Promise<void>;
  /** Any record, as one line. */
  record(record: Record<string, unknown>): Promise<void>;
  /** Raw text, no newline added. */
  raw(text: string): Promise<void>;
}

export function createFakeStream(options: FakeStreamOptions): FakeStream {
  const sessionId = randomUUID();
  const startedAt = Date.now();
  let messageCount = 0;
  let toolCount = 0;

  function raw(text: string): Promise<void> {
    return new Promise((resolve) => {
      options.out.write(text, () => resolve());
    });
  }

  async function record(rec: Record<string, unknown>): Promise<void> {
    if (options.delayMs > 0 && messageCount > 0) await new Promise((r) => setTimeout(r, options.delayMs));
    messageCount += 1;
    await raw(`${JSON.stringify(rec)}\n`);
  }

  // Like the real CLI, each assistant line repeats the request's whole input size; summing them is wrong.
  function assistant(content: unknown[], extra: Record<string, unknown> = {}): Promise<void> {
    return record({
      type: 'assistant',
      message: {
        id: `msg_fake_${messageCount}`,
        type: 'message',
        role: 'assistant',
        model: options.model,
        content,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: options.usage.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      },
      parent_tool_use_id: null,
      session_id: sessionId,
      ...extra,
    });
  }

  return {
    sessionId,
    record,
    raw,
    init: () =>
      record({
        type: 'system',
        subtype: 'init',
        cwd: options.cwd,
        session_id: sessionId,
        tools: ['Bash', 'Edit', 'Read', 'Write'],
        mcp_servers: [],
        model: options.model,
        permissionMode: 'bypassPermissions',
        apiKeySource: 'none',
        claude_code_version: 'fake',
      }),
    text: (text) => assistant([{ type: 'text', text }]),
    async toolUse(name, input) {
      toolCount += 1;
      const id = `toolu_fake_${toolCount}`;
      await assistant([{ type: 'tool_use', id, name, input }]);
      return id;
    },
    toolResult: (toolUseId, output, isError = false) =>
      record({
        type: 'user',
        message: { role: 'user', content: [{ tool_use_id: toolUseId, type: 'tool_result', content: output, ...(isError ? { is_error: true } : {}) }] },
        parent_tool_use_id: null,
        session_id: sessionId,
      }),
    apiErrorMessage: (status, text) =>
      record({
        type: 'assistant',
        message: { id: randomUUID(), type: 'message', role: 'assistant', model: '<synthetic>', content: [{ type: 'text', text }], stop_reason: 'stop_sequence', usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
        parent_tool_use_id: null,
        session_id: sessionId,
        error: 'unknown',
        is_api_error_message: true,
        api_error_status: status,
      }),
    result(final) {
      const usage = final.usage ?? options.usage;
      return record({
        type: 'result',
        subtype: 'success',
        is_error: final.isError,
        api_error_status: final.apiErrorStatus ?? null,
        duration_ms: Date.now() - startedAt,
        duration_api_ms: 0,
        num_turns: Math.max(1, toolCount + 1),
        result: final.text,
        session_id: sessionId,
        total_cost_usd: fakeCostUsd(usage),
        usage: {
          input_tokens: usage.inputTokens,
          cache_creation_input_tokens: usage.cacheWriteTokens,
          cache_read_input_tokens: usage.cacheReadTokens,
          output_tokens: usage.outputTokens,
        },
        modelUsage: {
          [options.model]: {
            inputTokens: usage.inputTokens,
            outputTokens: usage.outputTokens,
            cacheReadInputTokens: usage.cacheReadTokens,
            cacheCreationInputTokens: usage.cacheWriteTokens,
            costUSD: fakeCostUsd(usage),
          },
        },
        permission_denials: [],
        terminal_reason: !final.isError ? 'completed' : final.apiErrorStatus === undefined ? 'error' : 'api_error',
      });
    },
  };
}
