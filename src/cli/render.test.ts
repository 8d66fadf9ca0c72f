import { describe, expect, it } from 'vitest';
import type { CloneRecord, MeteredUsage, TaskRecord, Usage } from '../domain/index.js';
import { cost, summary, taskJson } from './render.js';

const usage = (inputTokens: number, outputTokens: number): Usage => ({ inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 });

function clone(name: string, metered: MeteredUsage | null, reported: Usage, reportedCostUsd: number): CloneRecord {
  return {
    name, agent: name, model: null, status: 'succeeded', diff: null, checkStatus: null, score: null, rank: null, durationMs: 1200,
    reason: null, error: null, lastEvent: null,
    usage: metered ?? reported, costUsd: metered?.costUsd ?? reportedCostUsd, usageSource: metered === null ? 'agent' : 'gateway',
    reportedUsage: reported, reportedCostUsd, metered,
  } as CloneRecord;
}

const task = {
  id: '12345678-0000-0000-0000-000000000000', status: 'completed', description: 'do it', repo: '/r', baseRef: 'main',
  baseCommit: 'a'.repeat(40), mergeStrategy: 'manual', mergeStatus: 'manual', bestClone: 'claude-code', error: null, mergeMessage: 'manual',
} as TaskRecord;

const metered: MeteredUsage = { ...usage(4444, 66), requests: 2, costUsd: 0.0144, errors: 0 };
const clones = [clone('claude-code', metered, usage(4000, 60), 0.02), clone('fake', null, usage(1200, 300), 0.0081)];

describe('summary', () => {
  it('shows the metered tokens and cost, and marks those the agent only reported itself', () => {
    const text = summary(task, clones);
    expect(text).toMatch(/^clone\s+agent\s+status.*\s+tokens\s+cost$/m);
    expect(text).toMatch(/^claude-code\s.*\s4510\s+\$0\.01$/m);
    expect(text).toMatch(/^fake\s.*\s1500\*\s+\$0\.0081\*$/m);
    expect(text).toContain('* as reported by the agent; the gateway metered none of its requests');
  });

  it('leaves out the note when every clone was metered', () => {
    expect(summary(task, clones.slice(0, 1))).not.toContain('as reported by the agent');
  });

  it('formats costs by size', () => {
    expect([cost(0), cost(0.0081), cost(1.234)]).toEqual(['$0', '$0.0081', '$1.23']);
  });
});

describe('taskJson', () => {
  it('adds the task\'s usage, cost and metered totals to the record', () => {
    const json = taskJson(task, clones);
    expect(json.usage).toEqual(usage(5644, 366));
    expect(json.costUsd).toBeCloseTo(0.0225, 10);
    expect(json.metered).toEqual(metered);
    expect(taskJson(task, clones.slice(1)).metered).toBeNull();
  });
});
