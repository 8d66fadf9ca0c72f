// Per-clone gateway tokens: 32 random bytes a clone sends as its "API key". Only SHA-256 hashes are kept:
// in memory for the gateway that issued them, and in the store (gateway_tokens) so a gateway in another
// process (`kage gateway`) resolves them too. A token lives while its clone attempt runs.
import { createHash, randomBytes } from 'node:crypto';
import type { GatewayGrant } from '../domain/index.js';

/** Where tokens are shared between processes; null keeps them in this process only. */
export interface GatewayTokenStore {
  addGatewayToken(hash: string, grant: GatewayGrant): Promise<void>;
  findGatewayToken(hash: string): Promise<GatewayGrant | null>;
  deleteGatewayToken(hash: string): Promise<void>;
}

export interface TokenRegistry {
  issue(grant: GatewayGrant): Promise<string>;
  /** The grant of a live token; null for an unknown or revoked one. */
  resolve(token: string): Promise<GatewayGrant | null>;
  revoke(token: string): Promise<void>;
}

/** Recognisable in logs and by secret scanners; never a real provider's key format. */
export const TOKEN_PREFIX = 'kgw_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createTokenRegistry(store: GatewayTokenStore | null): TokenRegistry {
  const grants = new Map<string, GatewayGrant>();
  return {
    async issue(grant) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const hash = hashToken(token);
      grants.set(hash, Object.freeze({ taskId: grant.taskId, cloneId: grant.cloneId,
        ...(grant.flight ? { flight: Object.freeze({ ...grant.flight }) } : {}) }));
      await store?.addGatewayToken(hash, grant);
      return token;
    },
    async resolve(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const hash = hashToken(token);
      // Not cached from the store: a revocation in another process must take effect at once.
      return grants.get(hash) ?? (store === null ? null : await store.findGatewayToken(hash));
    },
    async revoke(token) {
      const hash = hashToken(token);
      grants.delete(hash);
      await store?.deleteGatewayToken(hash);
    },
  };
}
