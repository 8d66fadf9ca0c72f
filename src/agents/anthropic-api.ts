// Adapter `anthropic-api`: kage's API worker with the Anthropic provider (the Messages API, streamed), so a
// Claude model edits files in the worktree with kage's own tools, without the Claude Code CLI. Endpoint and
// key come from the configured Anthropic provider (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY or the config file).
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { buildApiWorkerCommand, endpointEnv } from './api-worker-command.js';
import { createApiWorkerParser } from './api-worker-parser.js';

/** Used when neither the clone (`--agent anthropic-api:<model>`) nor `agents.anthropic-api.model` names one. */
export const ANTHROPIC_API_DEFAULT_MODEL = 'claude-sonnet-4-5';

export function buildAnthropicApiCommand(input: AgentRunInput): AgentCommand {
  const { baseUrl, apiKey } = input.providers.anthropic;
  return buildApiWorkerCommand(input, {
    provider: 'anthropic',
    defaultModel: ANTHROPIC_API_DEFAULT_MODEL,
    env: endpointEnv({ ANTHROPIC_BASE_URL: baseUrl, ANTHROPIC_API_KEY: apiKey }),
  });
}

export const anthropicApiAdapter: AgentAdapter = Object.freeze({
  id: 'anthropic-api',
  aliases: Object.freeze([]),
  description: `A Claude model through Anthropic's Messages API, with kage's file and command tools (default model ${ANTHROPIC_API_DEFAULT_MODEL})`,
  supportsResume: false,
  provider: 'anthropic',
  buildCommand: buildAnthropicApiCommand,
  createParser: createApiWorkerParser,
});
