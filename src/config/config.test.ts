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

  it('reads the master key variables but keeps them out of the environment agents are built from', () => {
    const config = loadConfig({}, { KAGE_HOME: home, KAGE_MASTER_KEY: 'new-key', KAGE_MASTER_KEY_OLD: 'old-key', KAGE_ENV_ALLOW: 'KAGE_*' });
    expect(config.masterKey).toBe('new-key');
    expect(config.masterKeyOld).toBe('old-key');
    expect(Object.keys(config.env).filter((name) => name.startsWith('KAGE_MASTER'))).toEqual([]);
    expect(loadConfig({}, { KAGE_HOME: home }).masterKey).toBeNull();
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

describe('the gateway section', () => {
  it('is on by default and forwards to the configured providers, Ollama\'s short address made a URL', () => {
    const config = loadConfig({}, { KAGE_HOME: home, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/x', ANTHROPIC_API_KEY: 'sk-a', OLLAMA_HOST: ':11500' });
    expect(config.gateway.enabled).toBe(true);
    expect(config.gateway.port).toBe(0);
    expect(config.gateway.upstreams.anthropic).toEqual({ baseUrl: 'http://127.0.0.1:9/x', apiKey: 'sk-a' });
    expect(config.gateway.upstreams.openai).toEqual({ baseUrl: null, apiKey: null });
    expect(config.gateway.upstreams.ollama).toEqual({ baseUrl: 'http://127.0.0.1:11500', apiKey: null });
    expect(config.gateway.prices).toEqual({});
  });

  it('takes its own upstreams, prices, port and switch from the file, and KAGE_GATEWAY from the environment', () => {
    const file = join(home, 'gateway.json');
    writeFileSync(file, JSON.stringify({
      providers: { openai: { baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'sk-provider' } },
      gateway: { enabled: false, port: 8100, upstreams: { openai: { apiKey: 'sk-gateway' } },
        prices: { 'my-model': { inputUsdPerMillion: 1, outputUsdPerMillion: 2 } } },
    }));
    const config = loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file });
    expect(config.gateway).toMatchObject({ enabled: false, port: 8100, prices: { 'my-model': { inputUsdPerMillion: 1, outputUsdPerMillion: 2 } } });
    expect(config.gateway.upstreams.openai).toEqual({ baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'sk-gateway' });
    expect(loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file, KAGE_GATEWAY: 'on' }).gateway.enabled).toBe(true);
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_GATEWAY: 'maybe' })).toThrow('Expected `KAGE_GATEWAY` to be on or off, got "maybe"');
  });

  it('rejects a price that is not a number of USD per million tokens, naming the field', () => {
    const file = join(home, 'bad-price.json');
    writeFileSync(file, JSON.stringify({ gateway: { prices: { 'gpt-5': { inputUsdPerMillion: -1, outputUsdPerMillion: 2 } } } }));
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file })).toThrow(/gateway\.prices\.gpt-5\.inputUsdPerMillion/);
  });
});
