// Adapter `ollama`: kage's API worker with the Ollama provider (`/api/chat` with tool calling), so a local
// model edits files in the worktree. The endpoint is `options.host`, else OLLAMA_HOST, else the worker's
// default http://127.0.0.1:11434.
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { buildApiWorkerCommand } from './api-worker-command.js';
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
  const endpoint = typeof host === 'string' ? host : input.env.OLLAMA_HOST;
  return buildApiWorkerCommand(input, {
    provider: 'ollama',
    defaultModel: OLLAMA_DEFAULT_MODEL,
    env: endpoint === undefined ? {} : { OLLAMA_HOST: endpoint },
  });
}

export const ollamaAdapter: AgentAdapter = Object.freeze({
  id: 'ollama',
  aliases: Object.freeze([]),
  description: `A local model through Ollama's /api/chat, with kage's file and command tools (default model ${OLLAMA_DEFAULT_MODEL})`,
  supportsResume: false,
  buildCommand: buildOllamaCommand,
  createParser: createApiWorkerParser,
});
