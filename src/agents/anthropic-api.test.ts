import { describe, expect, it } from 'vitest';
import { agentInput } from '../../test/support/agent-fixtures.js';
import { NO_PROVIDERS, type AgentRunInput, type ProviderEndpoint } from './adapter.js';
import { ANTHROPIC_API_DEFAULT_MODEL, anthropicApiAdapter } from './anthropic-api.js';
import { apiWorkerPath } from './api-worker-command.js';

/** A run with `anthropic` as the Anthropic endpoint and an OpenAI key the command must not pass on. */
function input(anthropic: ProviderEndpoint, overrides: Partial<AgentRunInput> = {}): AgentRunInput {
  const providers = { ...NO_PROVIDERS, anthropic, openai: { baseUrl: 'https://openai.example/v1', apiKey: 'sk-openai' } };
  return agentInput({ prompt: 'Fix it; $(rm -rf /)', providers, ...overrides });
}

describe('anthropicApiAdapter.buildCommand', () => {
  it('runs the API worker with the Anthropic provider, the default model, and the configured endpoint and key', () => {
    const command = anthropicApiAdapter.buildCommand(input({ baseUrl: 'https://gateway.example', apiKey: 'sk-ant-1' }));
    expect(command).toEqual({
      argv: [process.execPath, apiWorkerPath(), '--provider', 'anthropic', '--model', ANTHROPIC_API_DEFAULT_MODEL, '-p', 'Fix it; $(rm -rf /)'],
      env: { ANTHROPIC_BASE_URL: 'https://gateway.example', ANTHROPIC_API_KEY: 'sk-ant-1' },
      stdin: { kind: 'ignore' },
      homeFiles: [],
    });
  });

  it('leaves unset endpoint values to the worker\'s defaults and never passes another provider\'s key', () => {
    expect(anthropicApiAdapter.buildCommand(input({ baseUrl: null, apiKey: 'sk-ant-1' })).env).toEqual({ ANTHROPIC_API_KEY: 'sk-ant-1' });
    expect(anthropicApiAdapter.buildCommand(input({ baseUrl: null, apiKey: null })).env).toEqual({});
  });

  it('passes the model, max tokens and the turn limit, extra args last', () => {
    const { argv } = anthropicApiAdapter.buildCommand(input({ baseUrl: null, apiKey: null }, {
      model: 'claude-haiku-4-5',
      options: { maxTurns: 4, maxTokens: '16000', args: ['--max-turns', '6'] },
    }));
    expect(argv.slice(2)).toEqual([
      '--provider', 'anthropic', '--model', 'claude-haiku-4-5', '--max-turns', '4', '--max-tokens', '16000', '--max-turns', '6', '-p', 'Fix it; $(rm -rf /)',
    ]);
  });

  it('refuses a max tokens that is not a positive integer', () => {
    expect(() => anthropicApiAdapter.buildCommand(input({ baseUrl: null, apiKey: null }, { options: { maxTokens: 0 } }))).toThrow(
      expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field: 'options.maxTokens' }),
    );
  });
});
