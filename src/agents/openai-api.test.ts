import { describe, expect, it } from 'vitest';
import { agentInput } from '../../test/support/agent-fixtures.js';
import { NO_PROVIDERS, type AgentRunInput, type ProviderEndpoint } from './adapter.js';
import { apiWorkerPath } from './api-worker-command.js';
import { OPENAI_API_DEFAULT_MODEL, openaiApiAdapter } from './openai-api.js';

/** A run with `openai` as the OpenAI endpoint and an Anthropic key the command must not pass on. */
function input(openai: ProviderEndpoint, overrides: Partial<AgentRunInput> = {}): AgentRunInput {
  const providers = { ...NO_PROVIDERS, openai, anthropic: { baseUrl: null, apiKey: 'sk-ant-secret' } };
  return agentInput({ prompt: 'Fix it; $(rm -rf /)', providers, ...overrides });
}

describe('openaiApiAdapter.buildCommand', () => {
  it('runs the API worker with the OpenAI provider, the default model, and the configured endpoint and key', () => {
    const command = openaiApiAdapter.buildCommand(input({ baseUrl: 'http://127.0.0.1:8000/v1', apiKey: 'sk-1' }));
    expect(command).toEqual({
      argv: [process.execPath, apiWorkerPath(), '--provider', 'openai', '--model', OPENAI_API_DEFAULT_MODEL, '-p', 'Fix it; $(rm -rf /)'],
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_API_KEY: 'sk-1' },
      stdin: { kind: 'ignore' },
      homeFiles: [],
    });
  });

  it('passes a keyless compatible server without a key, and never another provider\'s key', () => {
    expect(openaiApiAdapter.buildCommand(input({ baseUrl: 'http://vllm:8000/v1', apiKey: null })).env).toEqual({ OPENAI_BASE_URL: 'http://vllm:8000/v1' });
    expect(openaiApiAdapter.buildCommand(input({ baseUrl: null, apiKey: null })).env).toEqual({});
  });

  it('passes the model and max tokens', () => {
    const { argv } = openaiApiAdapter.buildCommand(input({ baseUrl: null, apiKey: null }, { model: 'qwen/qwen3-coder', options: { maxTokens: 8000 } }));
    expect(argv.slice(2)).toEqual(['--provider', 'openai', '--model', 'qwen/qwen3-coder', '--max-tokens', '8000', '-p', 'Fix it; $(rm -rf /)']);
  });
});
