// The agent loop against a scripted in-memory provider: what it prints, when it stops, how it fails.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/agent-fixtures.js';
import { runAgentLoop } from './loop.js';
import type { RecordWriter } from './output.js';
import { ProviderError, type ChatRequest, type ChatTurn, type Provider } from './provider.js';
import type { WorkerRecord } from './records.js';
import { createWorkspace } from './tools/workspace.js';

function scripted(answers: (ChatTurn | ProviderError)[], probeError?: ProviderError): Provider & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    label: 'Mock',
    baseUrl: 'http://mock',
    requests,
    probe: async () => {
      if (probeError) throw probeError;
    },
    chat: async (request) => {
      requests.push({ ...request, messages: [...request.messages] });
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
      if (answer instanceof ProviderError) throw answer;
      return answer;
    },
  };
}

async function run(provider: Provider, maxTurns = 20): Promise<{ ok: boolean; records: WorkerRecord[]; cwd: string }> {
  const cwd = tempDir();
  const records: WorkerRecord[] = [];
  const out: RecordWriter = { write: async (record) => void records.push(record) };
  const ok = await runAgentLoop({
    provider, providerName: 'mock', model: 'm', prompt: 'make a.txt', maxTurns, maxTokens: 321, out,
    tools: { workspace: createWorkspace(cwd), commandTimeoutMs: 5_000, env: {} },
  });
  return { ok, records, cwd };
}

const writeCall: ChatTurn = {
  text: '', inputTokens: 10, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0,
  toolCalls: [{ id: 'c1', name: 'write_file', input: { path: 'a.txt', content: 'A' } }],
};
const done: ChatTurn = { text: 'All done.', toolCalls: [], inputTokens: 15, outputTokens: 3, cacheReadTokens: 40, cacheWriteTokens: 7 };

describe('runAgentLoop', () => {
  it('runs the tool calls, hands their results back and stops at an answer without tool calls', async () => {
    const provider = scripted([writeCall, done]);
    const { ok, records, cwd } = await run(provider);
    expect(ok).toBe(true);
    expect(readFileSync(path.join(cwd, 'a.txt'), 'utf8')).toBe('A');
    expect(records.map((r) => r.type)).toEqual(['session', 'usage', 'tool_use', 'tool_result', 'usage', 'message', 'result']);
    expect(records.at(-1)).toMatchObject({ type: 'result', ok: true, text: 'All done.', num_turns: 2 });
    expect(provider.requests[1]!.messages.at(-1)).toEqual({ role: 'tool', callId: 'c1', name: 'write_file', output: 'Wrote 1 bytes to a.txt', isError: false });
    expect(provider.requests[1]!.maxTokens).toBe(321);
    expect(records[4]).toEqual({ type: 'usage', input_tokens: 15, output_tokens: 3, cache_read_tokens: 40, cache_write_tokens: 7 });
  });

  it('stops at the turn limit with a budget error', async () => {
    const { ok, records } = await run(scripted([writeCall]), 3);
    expect(ok).toBe(false);
    expect(records.filter((r) => r.type === 'usage')).toHaveLength(3);
    expect(records.slice(-2)).toEqual([
      { type: 'error', kind: 'budget', status: null, message: "Stopped after 3 turns without a final answer (raise the agent's maxTurns option)" },
      expect.objectContaining({ type: 'result', ok: false, num_turns: 3 }),
    ]);
  });

  it('fails before any request when the probe finds nothing listening', async () => {
    const provider = scripted([done], new ProviderError('cannot reach Mock at http://mock: connect ECONNREFUSED', 'unreachable'));
    const { ok, records } = await run(provider);
    expect(ok).toBe(false);
    expect(provider.requests).toEqual([]);
    expect(records.slice(1)).toEqual([
      { type: 'error', kind: 'unreachable', status: null, message: 'cannot reach Mock at http://mock: connect ECONNREFUSED' },
      expect.objectContaining({ type: 'result', ok: false, text: 'cannot reach Mock at http://mock: connect ECONNREFUSED', num_turns: 0 }),
    ]);
  });

  it('reports an API error with its status and the turn it happened in', async () => {
    const { ok, records } = await run(scripted([writeCall, new ProviderError('Mock returned HTTP 500: boom', 'api', 500)]));
    expect(ok).toBe(false);
    expect(records.slice(-2)).toEqual([
      { type: 'error', kind: 'api', status: 500, message: 'Mock returned HTTP 500: boom' },
      expect.objectContaining({ type: 'result', ok: false, num_turns: 2 }),
    ]);
  });
});
