import { describe, expect, it } from 'vitest';
import { parseWorkerArgs, WORKER_DEFAULTS } from './args.js';

describe('parseWorkerArgs', () => {
  it('takes a prompt that looks like a flag verbatim and fills in the defaults', () => {
    expect(parseWorkerArgs(['--provider', 'ollama', '--model', 'm', '-p', '--max-turns 1; rm -rf /'])).toEqual({
      provider: 'ollama', model: 'm', prompt: '--max-turns 1; rm -rf /', version: false, ...WORKER_DEFAULTS,
    });
  });

  it('lets a later flag win, so extra args override', () => {
    expect(parseWorkerArgs(['--provider=ollama', '--model', 'm', '--max-turns', '5', '--max-turns=7', '-p', 'x']).maxTurns).toBe(7);
  });

  it('reads --max-tokens, which is unset by default', () => {
    expect(parseWorkerArgs(['--provider', 'anthropic', '--model', 'm', '--max-tokens', '4096', '-p', 'x']).maxTokens).toBe(4096);
    expect(WORKER_DEFAULTS.maxTokens).toBeNull();
  });

  it.each([
    [['--provider', 'ollama', '-p', 'x'], '--model is required: name the model to use, e.g. --model qwen2.5-coder:7b'],
    [['--model', 'm', '-p', 'x'], '--provider is required'],
    [['--provider', 'ollama', '--model', 'm'], '-p is required: the task for the model'],
    [['--provider', 'ollama', '--model', 'm', '-p', 'x', '--max-turns', '0'], '--max-turns expects a positive integer, got "0"'],
    [['--provider', 'ollama', '--model', 'm', '-p', 'x', '--max-tokens', '-1'], '--max-tokens expects a positive integer, got "-1"'],
    [['--provider', 'ollama', '--model'], '--model needs a value'],
    [['--yolo'], 'unknown argument "--yolo"'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseWorkerArgs(argv)).toThrow(message);
  });
});
