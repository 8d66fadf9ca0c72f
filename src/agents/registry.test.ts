import { describe, expect, it } from 'vitest';
import { isKageError, type KageError } from '../domain/index.js';
import type { AgentAdapter } from './adapter.js';
import { createAgentRegistry, defaultAdapters } from './registry.js';
import { shellAdapter } from './shell.js';

function catchError(fn: () => unknown): KageError {
  try {
    fn();
  } catch (err) {
    if (isKageError(err)) return err;
    throw err;
  }
  throw new Error('expected a KageError');
}

const custom: AgentAdapter = { ...shellAdapter, id: 'my-agent', aliases: ['mine'] };

describe('createAgentRegistry', () => {
  it('holds the CLI, API worker, fake and shell adapters by default', () => {
    const registry = createAgentRegistry();
    expect(registry.ids()).toEqual(['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code', 'ollama', 'anthropic-api', 'openai-api', 'fake', 'shell']);
    expect(registry.get('claude').id).toBe('claude-code');
    expect(registry.get('gemini').id).toBe('gemini-cli');
    expect(registry.get('qwen').id).toBe('qwen-code');
    expect(registry.get('ollama').id).toBe('ollama');
    expect(registry.get('fake').id).toBe('fake');
    expect(registry.get('shell').id).toBe('shell');
    expect(registry.list().map((a) => a.id)).toEqual(defaultAdapters().map((a) => a.id));
  });

  it('finds an adapter by alias', () => {
    const registry = createAgentRegistry([...defaultAdapters(), custom]);
    expect(registry.get('mine')).toBe(custom);
    expect(registry.has('mine')).toBe(true);
    expect(registry.has('my-agent')).toBe(true);
    expect(registry.has('aider')).toBe(false);
  });

  it('names the unknown agent and lists the valid ids', () => {
    const err = catchError(() => createAgentRegistry().get('aider'));
    expect(err.code).toBe('KAGE_UNKNOWN_AGENT');
    expect(err.message).toBe(`Unknown agent "aider"; valid agents: ${['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code', 'ollama', 'anthropic-api', 'openai-api', 'fake', 'shell'].join(', ')}`);
    expect(err.field).toBe('agent');
    expect(err.details.validAgents).toEqual(['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code', 'ollama', 'anthropic-api', 'openai-api', 'fake', 'shell']);
  });

  it('reports the caller field on unknown agents', () => {
    expect(catchError(() => createAgentRegistry().get('nope', 'clones[1].agent')).field).toBe('clones[1].agent');
  });

  it('refuses two adapters claiming the same name', () => {
    const clash: AgentAdapter = { ...shellAdapter, id: 'other', aliases: ['shell'] };
    expect(catchError(() => createAgentRegistry([shellAdapter, clash])).code).toBe('KAGE_INVALID_CONFIG');
  });

  it('does not let callers mutate its lists', () => {
    const registry = createAgentRegistry();
    registry.ids().push('x');
    registry.list().pop();
    expect(registry.ids()).toEqual(['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code', 'ollama', 'anthropic-api', 'openai-api', 'fake', 'shell']);
    expect(registry.list()).toHaveLength(10);
  });
});
