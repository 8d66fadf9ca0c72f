import { describe, expect, it } from 'vitest';
import { chooseExchange, fingerprint, firstDifference, normalizeRequest, type ReplayCandidate } from './replay-match.js';

const recordedRun = { taskId: '0123abcd-0000-4000-8000-000000000001', workdir: '/k/worktrees/r-1/0123abcd/claude-code', home: '/k/homes/5f1e2a3b-1111-4111-8111-111111111111' };
const replayRun = { taskId: '89efcdab-0000-4000-8000-000000000002', workdir: '/k/worktrees/r-1/89efcdab/claude-code', home: '/k/homes/9a8b7c6d-2222-4222-8222-222222222222' };

function requestOf(run: typeof recordedRun, session: string, device: string, text = 'create hello.txt'): string {
  return JSON.stringify({
    model: 'claude-sonnet-4-5',
    system: [{ type: 'text', text: `Primary working directory: ${run.workdir}\nmemory at \`${run.home}/.claude\`` }],
    messages: [{ role: 'user', content: [{ type: 'text', text: `Current branch: kage/${run.taskId.slice(0, 8)}/claude-code\nToday is 2026-11-27. ${text}` }] }],
    metadata: { user_id: JSON.stringify({ device_id: device, session_id: session }) },
  });
}

const candidate = (seq: number, route: string, model: string | null, key: string): ReplayCandidate => ({ seq, route, model, key });
const ROUTE = 'anthropic POST /v1/messages?beta=true';

describe('replay matching', () => {
  it('masks what differs between two runs of the same conversation: worktree, HOME, task id, session and device ids, dates', () => {
    const recorded = normalizeRequest(requestOf(recordedRun, 'd9bbc3a4-f2de-4cac-87af-f6d54a3ee23d', '18af582d'.repeat(8)), recordedRun);
    const replayed = normalizeRequest(requestOf(replayRun, '1ac6efb4-86d2-4a57-997b-6241d2307971', 'f8f0197f'.repeat(8)), replayRun);
    expect(replayed).toBe(recorded);
    expect(recorded).toContain('<workdir>');
    expect(recorded).toContain('kage/<task>/claude-code');
    expect(recorded).not.toContain('0123abcd');
    const changed = normalizeRequest(requestOf(replayRun, 'x', 'y', 'create goodbye.txt'), replayRun);
    expect(fingerprint(changed)).not.toBe(fingerprint(recorded));
    expect(firstDifference(recorded, changed).replayed).toContain('goodbye');
  });

  it('answers in recorded order on the same route, taking each exchange once', () => {
    const candidates = [candidate(0, ROUTE, 'm', 'a'), candidate(1, 'openai POST /v1/responses', 'm', 'b'), candidate(2, ROUTE, 'm', 'c')];
    const used = new Set<number>();
    const first = chooseExchange(candidates, used, { route: ROUTE, model: 'm', key: 'a' });
    expect(first).toEqual({ index: 0, exact: true });
    used.add(0);
    expect(chooseExchange(candidates, used, { route: ROUTE, model: 'm', key: 'c' })).toEqual({ index: 2, exact: true });
    used.add(2);
    expect(chooseExchange(candidates, used, { route: 'openai POST /v1/responses', model: 'm', key: 'b' })).toEqual({ index: 1, exact: true });
  });

  it('keeps concurrent requests with their own answers when they arrive in another order than recorded', () => {
    const candidates = [candidate(0, ROUTE, 'claude-haiku-4-5', 'title'), candidate(1, ROUTE, 'claude-sonnet-4-5', 'main')];
    expect(chooseExchange(candidates, new Set(), { route: ROUTE, model: 'claude-sonnet-4-5', key: 'main' })).toEqual({ index: 1, exact: true });
  });

  it('answers a request that differs from every recorded one with the next exchange of its route, preferring the same model, as a mismatch', () => {
    const candidates = [candidate(0, ROUTE, 'claude-haiku-4-5', 'a'), candidate(1, ROUTE, 'claude-sonnet-4-5', 'b'), candidate(2, ROUTE, 'claude-sonnet-4-5', 'c')];
    expect(chooseExchange(candidates, new Set(), { route: ROUTE, model: 'claude-sonnet-4-5', key: 'changed' })).toEqual({ index: 1, exact: false });
    expect(chooseExchange(candidates, new Set(), { route: ROUTE, model: 'gpt-5', key: 'changed' })).toEqual({ index: 0, exact: false });
  });

  it('finds nothing past the end of the recording, nor for a route it never recorded', () => {
    const candidates = [candidate(0, ROUTE, 'm', 'a')];
    expect(chooseExchange(candidates, new Set([0]), { route: ROUTE, model: 'm', key: 'a' })).toBeNull();
    expect(chooseExchange(candidates, new Set(), { route: 'gemini POST /v1beta/models/m:generateContent', model: 'm', key: 'a' })).toBeNull();
    expect(chooseExchange([], new Set(), { route: ROUTE, model: 'm', key: 'a' })).toBeNull();
  });
});
