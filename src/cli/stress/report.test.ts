import { describe, expect, it } from 'vitest';
import type { StressOptions } from './options.js';
import { buildReport, renderReport, rssVerdict, topMessages } from './report.js';
import type { StressObservation, StressSample } from './run.js';

const MB = 1024 * 1024;

const OPTIONS: StressOptions = {
  tasks: 2, url: 'http://127.0.0.1:8003', key: 'k', agent: 'ollama', concurrency: 1, repo: null, timeoutMs: 300_000, settleMs: 10_000,
};

function sample(phase: StressSample['phase'], rssMb: number): StressSample {
  return {
    at_s: 0, phase, submitted: 0, terminal: 0, rss_bytes: rssMb * MB, open_fds: 30, children: 0, descendants: 0,
    worktrees_on_disk: 0, db_connections: 5, running_clones: 0, queue_depth: 0,
  };
}

function observation(patch: Partial<StressObservation> = {}): StressObservation {
  return {
    server: { pid: 42, startedAt: '2026-01-01T00:00:00.000Z', version: '0.1.0', kageHome: '/k', local: true, localReason: 'same' },
    samples: [sample('start', 100), sample('wait', 130), sample('settle', 110)],
    sampleErrors: [],
    submitted: 2,
    taskIds: ['a', 'b'],
    submitFailures: [],
    throttledRetries: 0,
    outcomes: new Map([['a', 'failed'], ['b', 'failed']]),
    cloneErrors: ['cannot reach Ollama at http://x', 'cannot reach Ollama at http://x'],
    notTerminal: 0,
    pollErrors: [],
    serverLost: null,
    startedAtMs: 0,
    submitStartedAtMs: 100,
    submitEndedAtMs: 1100,
    allTerminalAtMs: 3100,
    settleStartedAtMs: 3100,
    endedAtMs: 13_100,
    ...patch,
  };
}

describe('stress report', () => {
  it('grades RSS growth: under 20 MB fine, 20 to 50 MB moderate, above 50 MB a leak', () => {
    expect(rssVerdict(-5 * MB)).toBe('fine');
    expect(rssVerdict(19.9 * MB)).toBe('fine');
    expect(rssVerdict(20 * MB)).toBe('moderate');
    expect(rssVerdict(50 * MB)).toBe('moderate');
    expect(rssVerdict(50.1 * MB)).toBe('leak');
  });

  it('keeps the three most frequent distinct messages, most frequent first', () => {
    expect(topMessages(['a', 'b', 'b', 'c', 'c', 'c', 'd'])).toEqual([
      { message: 'c', count: 3 }, { message: 'b', count: 2 }, { message: 'a', count: 1 },
    ]);
  });

  it('passes a run whose tasks all ended and whose RSS grew under 20 MB, with start, peak and end', () => {
    const report = buildReport(OPTIONS, observation());
    expect(report).toMatchObject({ ok: true, exit_code: 0, problems: [] });
    expect(report.rss).toMatchObject({ start_mb: 100, peak_mb: 130, end_mb: 110, growth_mb: 10, verdict: 'fine', source: 'proc' });
    expect(report.tasks).toMatchObject({ terminal: 2, by_status: { failed: 2 }, clone_errors: [{ message: 'cannot reach Ollama at http://x', count: 2 }] });
    expect(report.durations_s).toEqual({ submit: 1, until_terminal: 3, settle: 10, total: 13.1 });
    expect(renderReport(report)).toContain('Result: passed');
  });

  it('fails on a leak, on tasks left open, on failed submissions and when the server is lost', () => {
    const leak = buildReport(OPTIONS, observation({ samples: [sample('start', 100), sample('settle', 151)] }));
    expect(leak).toMatchObject({ ok: false, exit_code: 1, rss: { verdict: 'leak' } });
    expect(buildReport(OPTIONS, observation({ notTerminal: 1, allTerminalAtMs: null })).problems[0]).toMatch(/1 of 2 tasks were not terminal 300 s/);
    expect(buildReport(OPTIONS, observation({ submitFailures: ['HTTP 422: bad'] })).exit_code).toBe(1);
    expect(buildReport(OPTIONS, observation({ serverLost: 'server process 42 exited during the run' })).exit_code).toBe(1);
    const moderate = buildReport(OPTIONS, observation({ samples: [sample('start', 100), sample('settle', 130)] }));
    expect(moderate).toMatchObject({ exit_code: 0, rss: { verdict: 'moderate' } });
    expect(moderate.warnings[0]).toMatch(/moderate/);
  });
});
