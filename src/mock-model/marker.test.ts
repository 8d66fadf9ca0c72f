import { describe, expect, it } from 'vitest';
import { lastMarker } from './marker.js';
import { resolveScenario, ScenarioError } from './scenario.js';
import { parseScenarioSpec } from './server.js';

describe('lastMarker', () => {
  it('finds a bare marker anywhere in the text', () => {
    expect(lastMarker(['please [[mock:text]] now'])).toEqual({ name: 'text', options: {} });
  });

  it('reads options and percent-decodes their values', () => {
    const marker = lastMarker(['[[mock:write file=notes/a%20b.txt content=hello%20world%0A]] go']);
    expect(marker).toEqual({ name: 'write', options: { file: 'notes/a b.txt', content: 'hello world\n' } });
  });

  it('lets the last marker of the conversation win', () => {
    expect(lastMarker(['[[mock:error500]]', 'then [[mock:text]] and [[mock:slow delayMs=5]]'])?.name).toBe('slow');
  });

  it('keeps a malformed percent escape as written', () => {
    expect(lastMarker(['[[mock:write content=100%]]'])?.options.content).toBe('100%');
  });

  it('returns null without a marker, and ignores near misses', () => {
    expect(lastMarker(['no marker', '[mock:text]', '[[mock: text]]'])).toBeNull();
  });
});

describe('resolveScenario', () => {
  it('applies the defaults of write and slow', () => {
    expect(resolveScenario('write')).toEqual({ name: 'write', file: 'hello.txt', content: 'hello from mock\n' });
    expect(resolveScenario('slow')).toEqual({ name: 'slow', file: 'hello.txt', content: 'hello from mock\n', delayMs: 200 });
  });

  it('turns errorNNN into an HTTP status', () => {
    expect(resolveScenario('error429')).toEqual({ name: 'error', status: 429 });
  });

  it('rejects unknown names, statuses outside 400-599 and bad delays, naming the value', () => {
    expect(() => resolveScenario('dance')).toThrow(ScenarioError);
    expect(() => resolveScenario('error200')).toThrow(/between 400 and 599.*200/);
    expect(() => resolveScenario('slow', { delayMs: 'soon' })).toThrow(/delayMs.*"soon"/);
  });

  it('parses a default scenario given with options, as the CLI flag does', () => {
    expect(parseScenarioSpec('slow delayMs=50 file=x.txt')).toMatchObject({ name: 'slow', delayMs: 50, file: 'x.txt' });
    expect(() => parseScenarioSpec('not a scenario!')).toThrow(ScenarioError);
  });
});
