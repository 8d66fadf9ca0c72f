// The gateway's upstream keys from the secrets store: a secret named after a provider (`anthropic`,
// `openai`, `gemini`, `ollama`) is that provider's real key and wins over the environment and config file,
// which remain the quick start. Read once when the gateway starts, each read audited as reader `gateway`.
import type { Logger } from 'pino';
import type pg from 'pg';
import type { KageConfig } from '../config/config.js';
import type { ProviderEndpoints } from '../agents/adapter.js';
import { loadMasterKeys } from '../secrets/master-key.js';
import { createSecretStore } from '../secrets/secrets.js';

const PROVIDERS = ['anthropic', 'openai', 'gemini', 'ollama'] as const;

export async function upstreamsWithSecrets(config: KageConfig, pool: pg.Pool, log: Logger): Promise<ProviderEndpoints> {
  const upstreams = config.gateway.upstreams;
  // No master key configured and no key file: no secrets were ever stored with this configuration.
  const keys = loadMasterKeys(config, { create: false });
  if (keys.current === null) return upstreams;
  const store = createSecretStore({ pool, masterKey: keys.current, otherKeys: keys.all, actor: 'gateway' });
  const stored = new Set((await store.list()).map((s) => s.name));
  const result: ProviderEndpoints = { ...upstreams };
  for (const provider of PROVIDERS) {
    if (!stored.has(provider)) continue;
    try {
      result[provider] = { ...upstreams[provider], apiKey: await store.get(provider, { reader: 'gateway' }) };
    } catch (err) {
      // A wrong master key must not silently fall back to another credential: the gateway does not start.
      log.error({ err, provider }, 'reading the upstream key from the secrets store failed');
      throw err;
    }
  }
  return result;
}
