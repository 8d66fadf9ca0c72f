import { describe, expect, it } from 'vitest';
import type { CloneRecord } from '../domain/index.js';
import { createProgressView } from './progress.js';

function sink(isTTY: boolean, columns?: number) {
  const chunks: string[] = [];
  const out = { isTTY, columns, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join(''), chunks };
}

const clone = (name: string, status: CloneRecord['status'], lastEvent: string | null) => ({ name, status, lastEvent }) as CloneRecord;

describe('progress view', () => {
  it('redraws in place on a TTY by moving the cursor up over the previous frame', () => {
    const s = sink(true, 80);
    const view = createProgressView(s.out, '12345678-aaaa');
    view.update([clone('a', 'running', 'tool Write'), clone('b', 'queued', null)], []);
    view.update([clone('a', 'succeeded', 'finished'), clone('b', 'running', 'thinking')], []);
    expect(s.chunks[0]).not.toContain('\x1b[3A');
    expect(s.chunks[1]!.startsWith('\x1b[3A')).toBe(true);
    expect(s.chunks[1]).toMatch(/a\s+succeeded\s+finished/);
  });

  it('cuts lines to the terminal width', () => {
    const s = sink(true, 30);
    createProgressView(s.out, 'id').update([clone('a', 'running', 'x'.repeat(100))], []);
    for (const line of s.text().split('\n').filter(Boolean)) expect(line.replace('\x1b[2K', '').length).toBeLessThanOrEqual(29);
  });

  it('prints one plain line per change when not a TTY', () => {
    const s = sink(false);
    const view = createProgressView(s.out, 'id');
    view.update([clone('a', 'running', 'one')], []);
    view.update([clone('a', 'running', 'one')], []);
    view.update([clone('a', 'succeeded', 'done')], []);
    expect(s.text()).not.toContain('\x1b');
    expect(s.text().trim().split('\n')).toHaveLength(2);
  });
});
