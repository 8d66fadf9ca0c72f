import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GatewayRequestRecord } from '../domain/index.js';
import { createUnpricedNotice } from './unpriced.js';

function record(extra: Partial<GatewayRequestRecord>): GatewayRequestRecord {
  return { taskId: 't1', cloneId: 'c1', provider: 'anthropic', model: 'claude-next-1', method: 'POST', path: '/v1/messages',
    status: 200, stream: true, inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0,
    latencyMs: 1, ttfbMs: 1, startedAt: new Date(), error: null, ...extra };
}

function capture() {
  const emitted: { taskId: string; type: string; payload: Record<string, unknown> }[] = [];
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  return { emitted, lines, log, events: { emit: (taskId: string, _c: string | null, type: string, payload: Record<string, unknown> = {}) => void emitted.push({ taskId, type, payload }) } };
}

describe('unpriced model notice', () => {
  it('tells each task once and logs each model once about a model metered at $0', () => {
    const { emitted, lines, log, events } = capture();
    const notice = createUnpricedNotice({}, events, log);
    notice(record({}));
    notice(record({}));
    notice(record({ taskId: 't2' }));
    expect(emitted.map((e) => [e.taskId, e.type, e.payload.model])).toEqual([
      ['t1', 'gateway_unpriced_model', 'claude-next-1'], ['t2', 'gateway_unpriced_model', 'claude-next-1']]);
    expect(emitted[0]!.payload.hint).toContain('gateway.prices');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('no price for model claude-next-1');
  });

  it('says nothing of priced models, configured prices, local models, free answers or answers without tokens', () => {
    const { emitted, lines, log, events } = capture();
    const notice = createUnpricedNotice({ 'claude-next': { inputUsdPerMillion: 1, outputUsdPerMillion: 2 } }, events, log);
    notice(record({ model: 'claude-sonnet-4-5' }));
    notice(record({}));
    notice(record({ model: 'llama3', provider: 'ollama' }));
    notice(record({ model: 'mystery', inputTokens: 0, outputTokens: 0 }));
    notice(record({ model: null }));
    expect(emitted).toEqual([]);
    expect(lines).toEqual([]);
  });
});
