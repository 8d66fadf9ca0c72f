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

const gemini: AgentAdapter = { ...shellAdapter, id: 'gemini-cli', aliases: ['gemini'] };

describe('createAgentRegistry', () => {
  it('holds the fake, shell and ollama adapters by default', () => {
    const registry = createAgentRegistry();
    expect(registry.ids()).toEqual(['fake', 'shell', 'ollama']);
    expect(registry.get('ollama').id).toBe('ollama');
    expect(registry.get('fake').id).toBe('fake');
    expect(registry.get('shell').id).toBe('shell');
    expect(registry.list().map((a) => a.id)).toEqual(defaultAdapters().map((a) => a.id));
  });

  it('finds an adapter by alias', () => {
    const registry = createAgentRegistry([...defaultAdapters(), gemini]);
    expect(registry.get('gemini')).toBe(gemini);
    expect(registry.has('gemini')).toBe(true);
    expect(registry.has('gemini-cli')).toBe(true);
    expect(registry.has('codex')).toBe(false);
  });

  it('names the unknown agent and lists the valid ids', () => {
    const err = catchError(() => createAgentRegistry().get('claude'));
    expect(err.code).toBe('KAGE_UNKNOWN_AGENT');
    expect(err.message).toBe('Unknown agent "claude"; valid agents: fake, shell, ollama');
    expect(err.field).toBe('agent');
    expect(err.details.validAgents).toEqual(['fake', 'shell', 'ollama']);
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
    expect(registry.ids()).toEqual(['fake', 'shell', 'ollama']);
    expect(registry.list()).toHaveLength(3);
  });
});
