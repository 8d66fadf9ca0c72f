// The gateway's upstream keys from the secrets store, on a real PostgreSQL.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKageError } from '../src/domain/index.js';
import { upstreamsWithSecrets } from '../src/main/upstream-keys.js';
import { generateMasterKey } from '../src/secrets/master-key.js';
import { createSecretStore } from '../src/secrets/secrets.js';
import { PgStore } from '../src/store/pg-store.js';
import { freshDatabase, testConfig } from './support/harness.js';

const log = pino({ level: 'silent' });
const key = generateMasterKey('test');
const hexKey = key.bytes.toString('hex');
let store: PgStore;
let url: string;

beforeAll(async () => {
  url = await freshDatabase();
  store = new PgStore(url, 2);
  await store.migrate();
  const secrets = createSecretStore({ pool: store.pool, masterKey: key, actor: 'test' });
  await secrets.set('anthropic', 'sk-ant-from-secrets');
});

afterAll(async () => {
  await store?.close();
});

describe('upstream keys', () => {
  it('takes a provider\'s key from the secret named after it, over the environment, and audits the read', async () => {
    const config = testConfig({ databaseUrl: url, env: { KAGE_MASTER_KEY: hexKey, ANTHROPIC_API_KEY: 'sk-env', OPENAI_API_KEY: 'sk-openai-env' } });
    const upstreams = await upstreamsWithSecrets(config, store.pool, log);
    expect(upstreams.anthropic.apiKey).toBe('sk-ant-from-secrets');
    expect(upstreams.openai.apiKey).toBe('sk-openai-env');
    const reads = (await store.pool.query("select name, actor, error from secret_audit where action = 'read'")).rows;
    expect(reads).toContainEqual({ name: 'anthropic', actor: 'gateway', error: null });
  });

  it('keeps the environment\'s keys when no master key exists', async () => {
    const config = testConfig({ databaseUrl: url, env: { ANTHROPIC_API_KEY: 'sk-env' } });
    expect((await upstreamsWithSecrets(config, store.pool, log)).anthropic.apiKey).toBe('sk-env');
  });

  it('fails, rather than falling back, when the master key does not open the stored key', async () => {
    const config = testConfig({ databaseUrl: url, env: { KAGE_MASTER_KEY: randomBytes(32).toString('hex'), ANTHROPIC_API_KEY: 'sk-env' } });
    const err = await upstreamsWithSecrets(config, store.pool, log).then(() => null, (e: unknown) => e);
    expect(isKageError(err) && err.code).toBe('KAGE_SECRET_KEY_MISMATCH');
  });
});
