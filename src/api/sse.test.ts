import { describe, expect, it } from 'vitest';
import { sseFrame } from './sse.js';

describe('sseFrame', () => {
  it('writes id, event and one JSON data line, ended by a blank line', () => {
    expect(sseFrame('clone_started', { name: 'a' }, '42')).toBe('id: 42\nevent: clone_started\ndata: {"name":"a"}\n\n');
  });

  it('keeps line breaks inside values escaped so the message stays one data line', () => {
    const frame = sseFrame('agent_message', { text: 'one\ntwo\r\nthree' });
    expect(frame).toBe('event: agent_message\ndata: {"text":"one\\ntwo\\r\\nthree"}\n\n');
  });

  it('cannot be split into extra fields by a line break in the event name or id', () => {
    expect(sseFrame('a\nevent: b', {}, '1\n2')).toBe('id: 1 2\nevent: a event: b\ndata: {}\n\n');
  });
});
