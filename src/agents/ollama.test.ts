import { describe, expect, it } from 'vitest';
import { agentInputWith } from '../../test/support/agent-fixtures.js';
import { NO_PROVIDERS } from './adapter.js';
import { apiWorkerPath } from './api-worker-command.js';
import { ollamaAdapter, OLLAMA_DEFAULT_MODEL } from './ollama.js';

const input = agentInputWith({ prompt: 'Fix it; $(rm -rf /)' });

describe('ollamaAdapter.buildCommand', () => {
  it('runs the compiled API worker with the default model and the prompt as one argument, stdin closed', () => {
    const command = ollamaAdapter.buildCommand(input());
    expect(command).toEqual({
      argv: [process.execPath, apiWorkerPath(), '--provider', 'ollama', '--model', OLLAMA_DEFAULT_MODEL, '-p', 'Fix it; $(rm -rf /)'],
      env: {},
      stdin: { kind: 'ignore' },
      homeFiles: [],
    });
    expect(apiWorkerPath()).toMatch(/dist\/agents\/api-worker\.js$/);
  });

  it('passes the model, the turn limit, timeouts and extra args, extra args last', () => {
    const { argv } = ollamaAdapter.buildCommand(input({
      model: 'llama3.1:8b',
      options: { maxTurns: 5, commandTimeoutMs: '30000', requestTimeoutMs: 60000, args: ['--max-turns', '9'] },
    }));
    expect(argv.slice(2)).toEqual([
      '--provider', 'ollama', '--model', 'llama3.1:8b', '--max-turns', '5', '--command-timeout-ms', '30000',
      '--request-timeout-ms', '60000', '--max-turns', '9', '-p', 'Fix it; $(rm -rf /)',
    ]);
  });

  it('points the worker at options.host, else the configured Ollama endpoint, else the clone environment\'s OLLAMA_HOST', () => {
    const providers = { ...NO_PROVIDERS, ollama: { baseUrl: 'http://configured:11434', apiKey: null } };
    const env = { OLLAMA_HOST: 'gpu:11434' };
    expect(ollamaAdapter.buildCommand(input({ env, providers, options: { host: 'http://other:1' } })).env).toEqual({ OLLAMA_HOST: 'http://other:1' });
    expect(ollamaAdapter.buildCommand(input({ env, providers })).env).toEqual({ OLLAMA_HOST: 'http://configured:11434' });
    expect(ollamaAdapter.buildCommand(input({ env })).env).toEqual({ OLLAMA_HOST: 'gpu:11434' });
  });

  it('passes options.maxTokens as --max-tokens', () => {
    expect(ollamaAdapter.buildCommand(input({ options: { maxTokens: 2048 } })).argv.slice(6, 8)).toEqual(['--max-tokens', '2048']);
  });

  it.each([
    [{ maxTurns: 0 }, 'options.maxTurns'],
    [{ maxTurns: 'many' }, 'options.maxTurns'],
    [{ maxTokens: -5 }, 'options.maxTokens'],
    [{ host: 42 }, 'options.host'],
    [{ args: '--max-turns 5' }, 'options.args'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => ollamaAdapter.buildCommand(input({ options }))).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field }));
  });
});
