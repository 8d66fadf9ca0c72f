import { describe, expect, it } from 'vitest';
import { KageError } from '../domain/index.js';
import { parseAgentFlag, parseTaskInput } from './task-input.js';

const defaults = { timeoutMs: 600_000, maxRetries: 3, retryDelayMs: 5_000, checkTimeoutMs: 600_000 };
const valid = { description: 'fix the bug', repo: '/tmp/r', clones: [{ agent: 'fake' }] };

function errorOf(input: unknown): KageError {
  try {
    parseTaskInput(input, defaults);
  } catch (err) {
    return err as KageError;
  }
  throw new Error('expected an error');
}

describe('parseTaskInput', () => {
  it('fills defaults', () => {
    const spec = parseTaskInput(valid, defaults);
    expect(spec.mergeStrategy).toBe('auto');
    expect(spec.maxRetries).toBe(3);
    expect(spec.clones[0]).toEqual({ name: 'fake', agent: 'fake', model: null, timeoutMs: 600_000, options: {} });
  });

  it('names repeated agents fake, fake-2, fake-3', () => {
    const spec = parseTaskInput({ ...valid, clones: [{ agent: 'fake' }, { agent: 'fake' }, { agent: 'fake' }] }, defaults);
    expect(spec.clones.map((c) => c.name)).toEqual(['fake', 'fake-2', 'fake-3']);
  });

  it('rejects duplicate explicit names naming the field', () => {
    const err = errorOf({ ...valid, clones: [{ agent: 'fake', name: 'x' }, { agent: 'shell', name: 'x' }] });
    expect(err.code).toBe('KAGE_INVALID_INPUT');
    expect(err.field).toBe('clones[1].name');
  });

  it('rejects control characters in the description', () => {
    const err = errorOf({ ...valid, description: 'fix \u0000 this' });
    expect(err.field).toBe('description');
    expect(err.message).toMatch(/control characters/);
  });

  it('keeps shell syntax in the description as plain data', () => {
    const description = 'do $(touch X) and `touch Y`; rm -rf /\nnext line';
    expect(parseTaskInput({ ...valid, description }, defaults).description).toBe(description);
  });

  it('rejects a bad merge strategy naming the field and value', () => {
    const err = errorOf({ ...valid, mergeStrategy: 'sometimes' });
    expect(err.field).toBe('mergeStrategy');
    expect(err.message).toMatch(/got "sometimes"/);
  });

  it('rejects a clone name that is not safe for a branch', () => {
    expect(errorOf({ ...valid, clones: [{ agent: 'fake', name: '../x' }] }).field).toBe('clones[0].name');
  });

  it('rejects too many clones and no clones', () => {
    expect(errorOf({ ...valid, clones: [] }).field).toBe('clones');
    expect(errorOf({ ...valid, clones: Array.from({ length: 17 }, () => ({ agent: 'fake' })) }).field).toBe('clones');
  });
});

describe('parseAgentFlag', () => {
  it('splits id and model', () => {
    expect(parseAgentFlag('claude-code:sonnet', 0)).toEqual({ agent: 'claude-code', model: 'sonnet' });
    expect(parseAgentFlag('fake', 0)).toEqual({ agent: 'fake', model: null });
    expect(parseAgentFlag('ollama:qwen2.5:7b', 0)).toEqual({ agent: 'ollama', model: 'qwen2.5:7b' });
  });

  it('rejects an empty id', () => {
    expect(() => parseAgentFlag(':model', 1)).toThrow(/--agent/);
  });
});
