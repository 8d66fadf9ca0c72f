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

describe('passthrough tokens', () => {
  it('resolve only from a base URL\'s path, and gateway tokens only from a key header, also through the store', async () => {
    const store = mapStore();
    const [issuer, other] = [createTokenRegistry(store), createTokenRegistry(store)];
    const passthrough = await issuer.issue({ taskId: 't', cloneId: 'c', auth: 'passthrough' });
    const gateway = await issuer.issue({ taskId: 't', cloneId: 'c' });
    for (const tokens of [issuer, other]) {
      expect(await tokens.resolve(passthrough, 'passthrough')).toEqual({ taskId: 't', cloneId: 'c', auth: 'passthrough' });
      // Sent as a key, a passthrough token would have kage's real key added upstream: it is no token there.
      expect(await tokens.resolve(passthrough)).toBeNull();
      expect(await tokens.resolve(gateway, 'passthrough')).toBeNull();
      expect(await tokens.resolve(gateway)).toEqual({ taskId: 't', cloneId: 'c' });
    }
    expect(store.rows.has(hashToken(passthrough))).toBe(false);
    // A process that did not issue it does not know its mode, and revokes it in the store either way.
    await other.revoke(passthrough);
    expect(await other.resolve(passthrough, 'passthrough')).toBeNull();
    expect([...store.rows.keys()]).toEqual([hashToken(gateway)]);
  });
});
