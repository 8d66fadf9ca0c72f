import { describe, expect, it } from 'vitest';
import type { GatewayGrant } from '../domain/index.js';
import { createTokenRegistry, hashToken, TOKEN_PREFIX, type GatewayTokenStore } from './tokens.js';

/** A store as another process sees it: a map of hashes. */
function mapStore(): GatewayTokenStore & { rows: Map<string, GatewayGrant> } {
  const rows = new Map<string, GatewayGrant>();
  return {
    rows,
    addGatewayToken: async (hash, grant) => void rows.set(hash, grant),
    findGatewayToken: async (hash) => rows.get(hash) ?? null,
    deleteGatewayToken: async (hash) => void rows.delete(hash),
  };
}

describe('gateway tokens', () => {
  it('issues distinct 32-byte tokens, keeps only their hashes, and resolves them until revoked', async () => {
    const store = mapStore();
    const tokens = createTokenRegistry(store);
    const grant = { taskId: 't1', cloneId: 'c1' };
    const [a, b] = [await tokens.issue(grant), await tokens.issue(grant)];
    expect(a).not.toBe(b);
    expect(a.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    expect([...store.rows.keys()]).toEqual([hashToken(a), hashToken(b)]);
    expect(JSON.stringify([...store.rows])).not.toContain(a.slice(TOKEN_PREFIX.length));
    expect(await tokens.resolve(a)).toEqual(grant);
    await tokens.revoke(a);
    expect(await tokens.resolve(a)).toBeNull();
    expect(await tokens.resolve(b)).toEqual(grant);
  });

  it('resolves a token another process issued through the store, and not once that process revoked it', async () => {
    const store = mapStore();
    const [issuer, other] = [createTokenRegistry(store), createTokenRegistry(store)];
    const token = await issuer.issue({ taskId: 't', cloneId: null });
    expect(await other.resolve(token)).toEqual({ taskId: 't', cloneId: null });
    await issuer.revoke(token);
    expect(await other.resolve(token)).toBeNull();
  });

  it('refuses anything that is not a kage token without asking the store', async () => {
    let asked = 0;
    const tokens = createTokenRegistry({ ...mapStore(), findGatewayToken: async () => (asked++, null) });
    expect(await tokens.resolve('sk-ant-api03-real-looking')).toBeNull();
    expect(asked).toBe(0);
  });
});
