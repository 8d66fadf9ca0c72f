import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKageError } from '../domain/index.js';
import { agentAuthMode, loadConfig } from './config.js';

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

  it('takes a kage gateway elsewhere from KAGE_GATEWAY_URL or gateway.url, and the interface of its own from KAGE_GATEWAY_HOST', () => {
    const local = loadConfig({}, { KAGE_HOME: home });
    expect(local.gateway).toMatchObject({ url: null, host: '127.0.0.1' });
    const file = join(home, 'remote-gateway.json');
    writeFileSync(file, JSON.stringify({ gateway: { url: 'http://10.0.0.5:8787/', host: '0.0.0.0' } }));
    expect(loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file }).gateway).toMatchObject({ url: 'http://10.0.0.5:8787', host: '0.0.0.0' });
    const env = { KAGE_HOME: home, KAGE_CONFIG: file, KAGE_GATEWAY_URL: 'https://gw.example:9000/kage/', KAGE_GATEWAY_HOST: '10.0.0.5' };
    expect(loadConfig({}, env).gateway).toMatchObject({ url: 'https://gw.example:9000/kage', host: '10.0.0.5' });
  });

  it('refuses a gateway URL that is not http(s), naming the variable or the file key', () => {
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_GATEWAY_URL: 'gw.example:8787' }))
      .toThrow('Expected `KAGE_GATEWAY_URL` to be the http(s) URL of a `kage gateway` (e.g. http://10.0.0.5:8787), got "gw.example:8787"');
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_GATEWAY_URL: 'ftp://gw.example' })).toThrow(/`KAGE_GATEWAY_URL`/);
    const file = join(home, 'bad-gateway-url.json');
    writeFileSync(file, JSON.stringify({ gateway: { url: 'not a url' } }));
    let err: unknown;
    try {
      loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'KAGE_INVALID_CONFIG', field: 'gateway.url' });
  });

  it('rejects a price that is not a number of USD per million tokens, naming the field', () => {
    const file = join(home, 'bad-price.json');
    writeFileSync(file, JSON.stringify({ gateway: { prices: { 'gpt-5': { inputUsdPerMillion: -1, outputUsdPerMillion: 2 } } } }));
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file })).toThrow(/gateway\.prices\.gpt-5\.inputUsdPerMillion/);
  });
});

describe('the budgets section', () => {
  it('gives each task 50,000 tokens split across its clones, with a warning at 80 % and no USD budget', () => {
    expect(loadConfig({}, { KAGE_HOME: home }).budgets).toEqual({ taskTokens: 50_000, warningThreshold: 0.8, split: 'split', taskUsd: null });
  });

  it('honours v1\'s MAX_TOKENS_PER_TASK and TOKEN_WARNING_THRESHOLD, KAGE_TOKEN_BUDGET winning, and 0 as no limit', () => {
    const v1 = loadConfig({}, { KAGE_HOME: home, MAX_TOKENS_PER_TASK: '9000', TOKEN_WARNING_THRESHOLD: '0.5', KAGE_BUDGET_SPLIT: 'shared', KAGE_USD_BUDGET: '2.5' });
    expect(v1.budgets).toEqual({ taskTokens: 9000, warningThreshold: 0.5, split: 'shared', taskUsd: 2.5 });
    expect(loadConfig({}, { KAGE_HOME: home, MAX_TOKENS_PER_TASK: '9000', KAGE_TOKEN_BUDGET: '7000' }).budgets.taskTokens).toBe(7000);
    expect(loadConfig({}, { KAGE_HOME: home, KAGE_TOKEN_BUDGET: '0' }).budgets.taskTokens).toBeNull();
  });

  it('reads the file\'s budgets and rejects a bad threshold or split naming the variable', () => {
    const file = join(home, 'budgets.json');
    writeFileSync(file, JSON.stringify({ budgets: { taskTokens: 1234, split: 'shared', taskUsd: 1 } }));
    expect(loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file }).budgets).toMatchObject({ taskTokens: 1234, split: 'shared', taskUsd: 1 });
    expect(() => loadConfig({}, { KAGE_HOME: home, TOKEN_WARNING_THRESHOLD: '80' })).toThrow(/TOKEN_WARNING_THRESHOLD.*80/);
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_BUDGET_SPLIT: 'even' })).toThrow(/KAGE_BUDGET_SPLIT.*even/);
    expect(() => loadConfig({}, { KAGE_HOME: home, MAX_TOKENS_PER_TASK: '1.5' })).toThrow(/MAX_TOKENS_PER_TASK.*1\.5/);
  });
});

describe('the rateLimits section', () => {
  it('defaults to v1\'s limits and backoff, read from v1\'s variables', () => {
    const defaults = loadConfig({}, { KAGE_HOME: home }).rateLimits;
    expect(defaults).toMatchObject({ requestsPerMinute: 50, tokensPerMinute: null, maxWaitMs: 300_000, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxRetries: 5 });
    expect(defaults.providers.openai).toEqual({ requestsPerMinute: 50, tokensPerMinute: null, maxWaitMs: 300_000 });
    const env = loadConfig({}, { KAGE_HOME: home, MAX_REQUESTS_PER_MINUTE: '20', RATE_LIMIT_BACKOFF_BASE: '0.5', RATE_LIMIT_BACKOFF_MAX: '10', RATE_LIMIT_MAX_RETRIES: '2' }).rateLimits;
    expect(env).toMatchObject({ requestsPerMinute: 20, backoffBaseMs: 500, backoffMaxMs: 10_000, maxRetries: 2 });
    expect(env.providers.anthropic.requestsPerMinute).toBe(20);
  });

  it('takes per-provider overrides from the file', () => {
    const file = join(home, 'rate-limits.json');
    writeFileSync(file, JSON.stringify({ rateLimits: { requestsPerMinute: 30, providers: { anthropic: { requestsPerMinute: 5, tokensPerMinute: 40_000, maxWaitSeconds: 10 } } } }));
    const limits = loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file }).rateLimits;
    expect(limits.providers.anthropic).toEqual({ requestsPerMinute: 5, tokensPerMinute: 40_000, maxWaitMs: 10_000 });
    expect(limits.providers.gemini.requestsPerMinute).toBe(30);
  });

  it('names the variable and the value it rejects', () => {
    expect(() => loadConfig({}, { KAGE_HOME: home, MAX_REQUESTS_PER_MINUTE: '0' })).toThrow(/MAX_REQUESTS_PER_MINUTE.*0/);
    expect(() => loadConfig({}, { KAGE_HOME: home, RATE_LIMIT_MAX_RETRIES: '1.5' })).toThrow(/RATE_LIMIT_MAX_RETRIES.*1\.5/);
    expect(() => loadConfig({}, { KAGE_HOME: home, RATE_LIMIT_BACKOFF_BASE: '5', RATE_LIMIT_BACKOFF_MAX: '2' })).toThrow(/RATE_LIMIT_BACKOFF_MAX.*2/);
  });
});

describe('rate limits for a local Ollama', () => {
  it('leaves Ollama unlimited by default and limits it when its own entry says so', () => {
    const config = loadConfig({ home: '/tmp/kage-rl' }, { MAX_REQUESTS_PER_MINUTE: '20' });
    expect(config.rateLimits.providers.anthropic.requestsPerMinute).toBe(20);
    expect(config.rateLimits.providers.ollama.requestsPerMinute).toBe(1_000_000);
  });
});

describe('how agents authenticate through the gateway', () => {
  it('is `gateway` by default; KAGE_GATEWAY_AUTH sets the default, which an agent\'s own `auth` overrides', () => {
    const file = join(home, 'auth.json');
    writeFileSync(file, JSON.stringify({ agents: { codex: { auth: 'gateway' }, 'claude-code': { auth: 'passthrough' } } }));
    const plain = loadConfig({}, { KAGE_HOME: home });
    expect(plain.gateway.auth).toBe('gateway');
    expect(agentAuthMode(plain, 'claude-code')).toBe('gateway');
    const perAgent = loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file });
    expect([agentAuthMode(perAgent, 'claude-code'), agentAuthMode(perAgent, 'codex'), agentAuthMode(perAgent, 'gemini-cli')])
      .toEqual(['passthrough', 'gateway', 'gateway']);
    const byEnv = loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file, KAGE_GATEWAY_AUTH: 'Passthrough' });
    expect([agentAuthMode(byEnv, 'claude-code'), agentAuthMode(byEnv, 'codex'), agentAuthMode(byEnv, 'gemini-cli')])
      .toEqual(['passthrough', 'gateway', 'passthrough']);
  });

  it('names the variable or key and the value it rejects', () => {
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_GATEWAY_AUTH: 'own' })).toThrow(/KAGE_GATEWAY_AUTH.*own/);
    const file = join(home, 'bad-auth.json');
    writeFileSync(file, JSON.stringify({ agents: { codex: { auth: 'subscription' } } }));
    expect(() => loadConfig({}, { KAGE_HOME: home, KAGE_CONFIG: file })).toThrow(/agents\.codex\.auth/);
  });
});
