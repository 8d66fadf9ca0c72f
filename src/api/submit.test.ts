import { describe, expect, it } from 'vitest';
import { createAgentRegistry } from '../agents/registry.js';
import { KageError } from '../domain/index.js';
import { submitTaskSchema } from './schemas.js';
import { inV1Terms, resolveCliName, toTaskInput } from './submit.js';

const agents = createAgentRegistry();

describe('the v1 submit body', () => {
  it('gets v1 defaults and maps onto the core task input', () => {
    const body = submitTaskSchema.parse({
      description: 'Fix the date parsing',
      cli_assignments: [{ cli_name: 'fake', context: { behaviour: 'fix' }, args: ['--x'] }],
    });
    const input = toTaskInput(body, { defaultRepo: '/srv/repo', keyPrefix: 'kage_abc', agents });
    expect(input).toMatchObject({
      repo: '/srv/repo', mergeStrategy: 'theirs', maxRetries: 3, retryDelaySeconds: 5, createdBy: 'api-key-kage_abc', tokenBudget: null,
      usdBudget: null,
    });
    expect(input.clones[0]).toEqual({
      agent: 'fake', model: null, timeoutSeconds: 600,
      options: { behaviour: 'fix', context: { behaviour: 'fix' }, args: ['--x'] },
    });
  });

  it('takes a USD budget above 0 and refuses others, naming `usd_budget`', () => {
    const base = { description: 'Fix the date parsing', cli_assignments: [{ cli_name: 'fake' }] };
    expect(toTaskInput(submitTaskSchema.parse({ ...base, usd_budget: 0.25 }), { defaultRepo: '/r', keyPrefix: 'x', agents }).usdBudget).toBe(0.25);
    for (const bad of [0, -1, '1', 2_000_000]) {
      const parsed = submitTaskSchema.safeParse({ ...base, usd_budget: bad });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['usd_budget']);
    }
  });

  it('keeps an explicit author and names `repo` when there is no repository at all', () => {
    const body = submitTaskSchema.parse({ description: 'Fix the date parsing', cli_assignments: [{ cli_name: 'fake' }], created_by: 'n8n' });
    expect(toTaskInput(body, { defaultRepo: '/r', keyPrefix: 'x', agents }).createdBy).toBe('n8n');
    expect(() => toTaskInput(body, { defaultRepo: null, keyPrefix: 'x', agents })).toThrow(/`repo`/);
  });

  it('names the alternative of a removed v1 agent and lists valid agents for an unknown one', () => {
    expect(() => resolveCliName('auto-claude', agents, 2)).toThrow(/cli_assignments\[2\]\.cli_name.*claude-code/);
    const err = (() => {
      try {
        resolveCliName('nope', agents, 0);
      } catch (e) {
        return e as KageError;
      }
    })();
    expect(err?.code).toBe('KAGE_UNKNOWN_AGENT');
    expect(err?.details.validAgents).toEqual(['claude-code', 'codex', 'gemini-cli', 'opencode', 'qwen-code', 'ollama', 'anthropic-api', 'openai-api', 'fake', 'shell', 'claude', 'gemini', 'qwen']);
  });

  it('renames core fields to the v1 body\'s names in errors', () => {
    const err = inV1Terms(new KageError('KAGE_BAD_REF', 'Expected `baseRef` to be a local branch', { field: 'baseRef' })) as KageError;
    expect(err.field).toBe('base_ref');
    expect(err.message).toBe('Expected `base_ref` to be a local branch');
    expect((inV1Terms(new KageError('KAGE_INVALID_INPUT', 'x', { field: 'clones[1].name' })) as KageError).field).toBe('cli_assignments[1].name');
  });
});
