// The token counts the mock model reports. They are fixed, distinct numbers so a test can tell which
// requests a client counted and whether it summed, subtracted or dropped the cache figures.

/** What one answer reports. */
export interface MockTurnUsage {
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the cache (a part of `inputTokens` where the protocol counts it so). */
  cacheReadTokens: number;
  /** Prompt tokens written to the cache; only Anthropic has a field for it. */
  cacheWriteTokens: number;
}

/**
 * Usage per kind of answer:
 * - `toolTurn`: an answer that calls a tool (the first turn of `write`, every turn of `loop`);
 * - `finalTurn`: an answer with the final text;
 * - `sideCall`: a call that is not part of the agent's turn (OpenCode's title, Gemini CLI's model router).
 *
 * What a client should sum for one `write` run (tool turn + final turn), per protocol:
 * - Anthropic: `input_tokens` 1111 + 3333 = 4444, `output_tokens` 22 + 44 = 66 (from `message_delta`;
 *   `message_start` carries the placeholder 1), `cache_read_input_tokens` 14, `cache_creation_input_tokens` 16.
 * - OpenAI Chat Completions: `prompt_tokens` 4444 (cached included), `completion_tokens` 66,
 *   `prompt_tokens_details.cached_tokens` 14. Only with `stream_options.include_usage` when streaming.
 * - OpenAI Responses: `input_tokens` 4444 (cached included), `output_tokens` 66, cached 14.
 * - Gemini: `promptTokenCount` 4444 (cached included), `candidatesTokenCount` 66, `cachedContentTokenCount` 14.
 * - Ollama: `prompt_eval_count` 4444, `eval_count` 66 (no cache fields).
 * Side calls add 5 in / 6 out and no cache tokens.
 */
export const MOCK_USAGE = Object.freeze({
  toolTurn: Object.freeze({ inputTokens: 1111, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 8 }),
  finalTurn: Object.freeze({ inputTokens: 3333, outputTokens: 44, cacheReadTokens: 7, cacheWriteTokens: 8 }),
  sideCall: Object.freeze({ inputTokens: 5, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 }),
}) satisfies Record<string, Readonly<MockTurnUsage>>;

/** Totals a client should report for one `write` run, side calls excluded. */
export const MOCK_WRITE_RUN_USAGE: Readonly<MockTurnUsage> = Object.freeze({
  inputTokens: MOCK_USAGE.toolTurn.inputTokens + MOCK_USAGE.finalTurn.inputTokens,
  outputTokens: MOCK_USAGE.toolTurn.outputTokens + MOCK_USAGE.finalTurn.outputTokens,
  cacheReadTokens: MOCK_USAGE.toolTurn.cacheReadTokens + MOCK_USAGE.finalTurn.cacheReadTokens,
  cacheWriteTokens: MOCK_USAGE.toolTurn.cacheWriteTokens + MOCK_USAGE.finalTurn.cacheWriteTokens,
});
