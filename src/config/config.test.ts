import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKageError } from '../domain/index.js';
import { loadConfig } from './config.js';

const home = mkdtempSync(join(tmpdir(), 'kage-config-'));

describe('loadConfig', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadConfig({}, { KAGE_HOME: home });
    expect(config.home).toBe(home);
    expect(config.databaseUrl).toBeNull();
    expect(config.timeoutMs).toBe(600_000);
    expect(config.maxRetries).toBe(3);
    expect(config.retryDelayMs).toBe(5_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.envAllowlist)).toBe(true);
  });

  it('lets flags beat the environment and the environment beat the file', () => {
    const file = join(home, 'layered.json');
    writeFileSync(file, JSON.stringify({ baseBranch: 'from-file', timeoutSeconds: 30, concurrency: 2 }));
    const config = loadConfig({ concurrency: 5 }, { KAGE_HOME: home, KAGE_CONFIG: file, BASE_BRANCH: 'from-env' });
    expect(config.baseBranch).toBe('from-env');
    expect(config.timeoutMs).toBe(30_000);
    expect(config.concurrency).toBe(5);
  });

  it('reads DATABASE_URL to leave the embedded server', () => {
    expect(loadConfig({}, { KAGE_HOME: home, DATABASE_URL: 'postgres://x@127.0.0.1/db' }).databaseUrl).toBe('postgres://x@127.0.0.1/db');
  });

  it('names the variable and the bad value', () => {
    try {
      loadConfig({}, { KAGE_HOME: home, KAGE_TIMEOUT: 'soon' });
      expect.unreachable();
    } catch (err) {
      expect(isKageError(err, 'KAGE_INVALID_CONFIG')).toBe(true);
      expect((err as Error).message).toBe('Expected `KAGE_TIMEOUT` to be a number, got "soon"');
    }
  });

  it('rejects unknown keys in the config file naming the key', () => {
    const file = join(home, 'bad.json');
    writeFileSync(file, JSON.stringify({ timeout: 5 }));
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file })).toThrow(/timeout/);
  });

  it('rejects a config file that is not JSON', () => {
    const file = join(home, 'broken.json');
    writeFileSync(file, '{ nope');
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file })).toThrow(/Cannot read config file/);
  });

  it('reads per-agent settings from the file', () => {
    const file = join(home, 'agents.json');
    writeFileSync(file, JSON.stringify({ agents: { shell: { options: { argv: ['echo', '{prompt}'] }, env: { A: 'b' } } } }));
    const config = loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file });
    expect(config.agents.shell?.options).toEqual({ argv: ['echo', '{prompt}'] });
    expect(config.agents.shell?.env).toEqual({ A: 'b' });
  });
});
