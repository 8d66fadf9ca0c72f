import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import type { CloneRecord, TaskRecord } from '../domain/index.js';
import { flightOf } from './flight.js';
import { parseTaskInput } from './task-input.js';

const defaults = { timeoutMs: 600_000, maxRetries: 3, retryDelayMs: 5_000, checkTimeoutMs: 600_000 };
const input = { description: 'fix the bug', repo: '/tmp/r', clones: [{ agent: 'claude-code' }] };
const task = (patch: Partial<TaskRecord>) => ({ id: 't-1', record: false, replayOf: null, ...patch }) as TaskRecord;
const clone = { id: 'c-1', name: 'claude-code', attempt: 1 } as CloneRecord;

describe('what the flight recorder does with a task', () => {
  it('records a recording task\'s clones, replays a replay\'s from its recorded task, and leaves others alone', () => {
    expect(flightOf(task({ record: true }), clone, '/w', '/h'))
      .toEqual({ mode: 'record', sourceTaskId: null, cloneName: 'claude-code', attempt: 1, workdir: '/w', home: '/h' });
    expect(flightOf(task({ replayOf: 'src-task' }), clone, '/w2', '/h2'))
      .toEqual({ mode: 'replay', sourceTaskId: 'src-task', cloneName: 'claude-code', attempt: 1, workdir: '/w2', home: '/h2' });
    expect(flightOf(task({}), clone, '/w', '/h')).toBeNull();
  });

  it('takes `record` from the task, else from the default, else off; anything but a boolean names the field', () => {
    expect(parseTaskInput(input, defaults).record).toBe(false);
    expect(parseTaskInput(input, { ...defaults, record: true }).record).toBe(true);
    expect(parseTaskInput({ ...input, record: false }, { ...defaults, record: true }).record).toBe(false);
    expect(parseTaskInput({ ...input, record: true }, defaults).record).toBe(true);
    expect(() => parseTaskInput({ ...input, record: 'yes' }, defaults)).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_INPUT', field: 'record' }));
  });

  it('reads KAGE_RECORD and KAGE_REPLAY_TIMING, and refuses values it does not know', () => {
    const base = { KAGE_HOME: '/tmp/kage-flight-config' };
    expect(loadConfig({}, base).gateway).toMatchObject({ record: false, replayTiming: 'fast', maxRecordedBytes: 16 * 1024 * 1024 });
    expect(loadConfig({}, { ...base, KAGE_RECORD: '1', KAGE_REPLAY_TIMING: 'recorded' }).gateway).toMatchObject({ record: true, replayTiming: 'recorded' });
    for (const [name, value] of [['KAGE_RECORD', 'sometimes'], ['KAGE_REPLAY_TIMING', 'slow']] as const) {
      expect(() => loadConfig({}, { ...base, [name]: value })).toThrow(expect.objectContaining({ code: 'KAGE_INVALID_CONFIG', field: name }));
    }
  });
});
