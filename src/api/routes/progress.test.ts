import { describe, expect, it } from 'vitest';
import { streamEventName } from './progress.js';

describe('streamEventName', () => {
  it('sends task-level events under v1 name progress', () => {
    for (const type of ['task_created', 'judging_started', 'task_finished', 'task_cancelled']) {
      expect(streamEventName({ cloneId: null, type })).toBe('progress');
    }
  });

  it('keeps the names of clone events and of judge, conflict and merge results', () => {
    expect(streamEventName({ cloneId: 'c', type: 'agent_tool_use' })).toBe('agent_tool_use');
    expect(streamEventName({ cloneId: 'c', type: 'merge_result' })).toBe('merge_result');
    for (const type of ['judge_result', 'conflict_report', 'merge_result']) expect(streamEventName({ cloneId: null, type })).toBe(type);
  });

  it('never lets a stored event take a name the stream itself uses', () => {
    expect(streamEventName({ cloneId: 'c', type: 'task_complete' })).toBe('progress');
    expect(streamEventName({ cloneId: 'c', type: 'error' })).toBe('progress');
    expect(streamEventName({ cloneId: 'c', type: 'Bad Name' })).toBe('progress');
  });
});
