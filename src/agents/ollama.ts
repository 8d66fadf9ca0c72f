// Adapter `ollama`: kage's API worker with the Ollama provider (`/api/chat` with tool calling), so a local
// model edits files in the worktree. The endpoint is `options.host`, else the configured Ollama endpoint
// (OLLAMA_HOST or the config file's `providers.ollama`), else the clone environment's OLLAMA_HOST, else the
// worker's default http://127.0.0.1:11434. The configured key, if any, goes as OLLAMA_API_KEY.
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { buildApiWorkerCommand, endpointEnv } from './api-worker-command.js';
import { createApiWorkerParser } from './api-worker-parser.js';

/** Used when neither the clone (`--agent ollama:<model>`) nor `agents.ollama.model` names one. */
export const OLLAMA_DEFAULT_MODEL = 'qwen2.5-coder:7b';

export function buildOllamaCommand(input: AgentRunInput): AgentCommand {
  const host = input.options.host;
  if (host !== undefined && host !== null && (typeof host !== 'string' || host.trim() === '')) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.host\` to be an Ollama address such as "127.0.0.1:11434"; got ${showValue(host)}`, {
      field: 'options.host',
    });
  }
  const endpoint = typeof host === 'string' ? host : (input.providers.ollama.baseUrl ?? input.env.OLLAMA_HOST ?? null);
  // The configured key (Ollama's cloud API, or the gateway's per-clone token) belongs to the configured endpoint only.
  const apiKey = typeof host === 'string' ? null : input.providers.ollama.apiKey;
  return buildApiWorkerCommand(input, {
    provider: 'ollama',
    defaultModel: OLLAMA_DEFAULT_MODEL,
    env: endpointEnv({ OLLAMA_HOST: endpoint, OLLAMA_API_KEY: apiKey }),
  });
}

export const ollamaAdapter: AgentAdapter = Object.freeze({
  id: 'ollama',
  aliases: Object.freeze([]),
  description: `A local model through Ollama's /api/chat, with kage's file and command tools (default model ${OLLAMA_DEFAULT_MODEL})`,
  supportsResume: false,
  provider: 'ollama',
  buildCommand: buildOllamaCommand,
  createParser: createApiWorkerParser,
});
