// The agent adapters kage knows, by id and alias. Adding an agent: one adapter file and one line below.
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter } from './adapter.js';
import { fakeAdapter } from './fake.js';
import { geminiCliAdapter } from './gemini-cli.js';
import { anthropicApiAdapter } from './anthropic-api.js';
import { claudeCodeAdapter } from './claude-code.js';
import { codexAdapter } from './codex.js';
import { ollamaAdapter } from './ollama.js';
import { openaiApiAdapter } from './openai-api.js';
import { openCodeAdapter } from './opencode.js';
import { qwenCodeAdapter } from './qwen-code.js';
import { shellAdapter } from './shell.js';

export function defaultAdapters(): AgentAdapter[] {
  return [
    claudeCodeAdapter, codexAdapter, geminiCliAdapter, openCodeAdapter, qwenCodeAdapter,
    ollamaAdapter, anthropicApiAdapter, openaiApiAdapter, fakeAdapter, shellAdapter,
  ];
}

export interface AgentRegistry {
  /** The adapter for an id or alias; throws KAGE_UNKNOWN_AGENT naming the valid ids. */
  get(idOrAlias: string, field?: string): AgentAdapter;
  has(idOrAlias: string): boolean;
  list(): AgentAdapter[];
  ids(): string[];
}

export function createAgentRegistry(adapters: readonly AgentAdapter[] = defaultAdapters()): AgentRegistry {
  const byName = new Map<string, AgentAdapter>();
  for (const adapter of adapters) {
    for (const name of [adapter.id, ...adapter.aliases]) {
      const taken = byName.get(name);
      if (taken !== undefined) {
        throw new KageError('KAGE_INVALID_CONFIG', `Agent name ${showValue(name)} is used by both ${showValue(taken.id)} and ${showValue(adapter.id)}`, {
          details: { name },
        });
      }
      byName.set(name, adapter);
    }
  }
  const ids = adapters.map((adapter) => adapter.id);

  return {
    get(idOrAlias, field = 'agent') {
      const adapter = typeof idOrAlias === 'string' ? byName.get(idOrAlias) : undefined;
      if (adapter !== undefined) return adapter;
      throw new KageError('KAGE_UNKNOWN_AGENT', `Unknown agent ${showValue(idOrAlias)}; valid agents: ${ids.join(', ')}`, {
        field,
        details: { agent: idOrAlias, validAgents: [...ids] },
      });
    },
    has: (idOrAlias) => typeof idOrAlias === 'string' && byName.has(idOrAlias),
    list: () => [...adapters],
    ids: () => [...ids],
  };
}
