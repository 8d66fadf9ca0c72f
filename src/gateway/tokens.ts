// Per-clone gateway tokens: 32 random bytes a clone sends as its "API key", or, in passthrough, names in its
// base URL's path. Only SHA-256 hashes are kept: in memory for the gateway that issued them, and in the store
// (gateway_tokens) so a gateway in another process (`kage gateway`) resolves them too. A token lives while
// its clone attempt runs.
import { createHash, randomBytes } from 'node:crypto';
import type { GatewayAuthMode, GatewayGrant } from '../domain/index.js';

/** Where tokens are shared between processes; null keeps them in this process only. */
export interface GatewayTokenStore {
  addGatewayToken(hash: string, grant: GatewayGrant): Promise<void>;
  findGatewayToken(hash: string): Promise<GatewayGrant | null>;
  deleteGatewayToken(hash: string): Promise<void>;
}

export interface TokenRegistry {
  /** A fresh token for the grant, resolvable the way `grant.auth` says the clone sends it. */
  issue(grant: GatewayGrant): Promise<string>;
  /** The grant of a live token sent the way `auth` names (a key header, or a passthrough path); null for any other. */
  resolve(token: string, auth?: GatewayAuthMode): Promise<GatewayGrant | null>;
  revoke(token: string): Promise<void>;
}

/** Recognisable in logs and by secret scanners; never a real provider's key format. */
export const TOKEN_PREFIX = 'kgw_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A passthrough token is hashed in a domain of its own, so it resolves only from a base URL's path and a
 * gateway token only from a key header: a passthrough clone that sent its token as a key would otherwise get
 * kage's real key added to its requests. The mode needs no column of its own in the store.
 */
function hashFor(token: string, auth: GatewayAuthMode): string {
  return auth === 'passthrough' ? hashToken(`passthrough:${token}`) : hashToken(token);
}

export function createTokenRegistry(store: GatewayTokenStore | null): TokenRegistry {
  const grants = new Map<string, GatewayGrant>();
  return {
    async issue(grant) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const auth = grant.auth ?? 'gateway';
      const hash = hashFor(token, auth);
      grants.set(hash, Object.freeze({ taskId: grant.taskId, cloneId: grant.cloneId, ...(auth === 'passthrough' ? { auth } : {}),
        ...(grant.flight ? { flight: Object.freeze({ ...grant.flight }) } : {}) }));
      await store?.addGatewayToken(hash, grant);
      return token;
    },
    async resolve(token, auth = 'gateway') {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const hash = hashFor(token, auth);
      // Not cached from the store: a revocation in another process must take effect at once.
      const grant = grants.get(hash) ?? (store === null ? null : await store.findGatewayToken(hash));
      return grant === null || auth === 'gateway' ? grant : { ...grant, auth };
    },
    async revoke(token) {
      // The issuer knows the token's mode; a token issued by another process may be of either.
      const both = [hashFor(token, 'gateway'), hashFor(token, 'passthrough')];
      const known = both.filter((hash) => grants.has(hash));
      for (const hash of known.length > 0 ? known : both) {
        grants.delete(hash);
        await store?.deleteGatewayToken(hash);
      }
    },
  };
}
