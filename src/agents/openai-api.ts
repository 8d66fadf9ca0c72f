// Adapter `openai-api`: kage's API worker with the OpenAI provider (Chat Completions, streamed), so a model
// behind OpenAI or any compatible server (vLLM, LiteLLM, OpenRouter, Ollama's /v1) edits files in the
// worktree with kage's own tools. Endpoint and key come from the configured OpenAI provider
// (OPENAI_BASE_URL with `/v1`, OPENAI_API_KEY, or the config file).
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { buildApiWorkerCommand, endpointEnv } from './api-worker-command.js';
import { createApiWorkerParser } from './api-worker-parser.js';

/** Used when neither the clone (`--agent openai-api:<model>`) nor `agents.openai-api.model` names one. */
export const OPENAI_API_DEFAULT_MODEL = 'gpt-4.1';

export function buildOpenAiApiCommand(input: AgentRunInput): AgentCommand {
  const { baseUrl, apiKey } = input.providers.openai;
  return buildApiWorkerCommand(input, {
    provider: 'openai',
    defaultModel: OPENAI_API_DEFAULT_MODEL,
    env: endpointEnv({ OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: apiKey }),
  });
}

export const openaiApiAdapter: AgentAdapter = Object.freeze({
  id: 'openai-api',
  aliases: Object.freeze([]),
  description: `A model behind OpenAI's Chat Completions API or a compatible server, with kage's file and command tools (default model ${OPENAI_API_DEFAULT_MODEL})`,
  supportsResume: false,
  provider: 'openai',
  buildCommand: buildOpenAiApiCommand,
  createParser: createApiWorkerParser,
});
