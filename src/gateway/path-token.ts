// Passthrough clones name their token in the path of their base URLs (`<gw>/t/<token>/anthropic`), because
// their key headers carry their own credential, which the gateway forwards unchanged. The clients append
// their API paths to the base URL, so every request arrives with the token in front of the provider prefix.
import { KageError, type GatewayProvider } from '../domain/index.js';
import { PROVIDERS } from './providers.js';

/** The first path segment of a passthrough base URL; the token is the second. */
export const PATH_TOKEN_SEGMENT = '/t/';

/** The token and the path after it (`/anthropic/v1/messages`), when `pathname` starts with `/t/<token>`; else null. */
export function splitPathToken(pathname: string): { token: string; path: string } | null {
  if (!pathname.startsWith(PATH_TOKEN_SEGMENT)) return null;
  const end = pathname.indexOf('/', PATH_TOKEN_SEGMENT.length);
  const token = pathname.slice(PATH_TOKEN_SEGMENT.length, end === -1 ? undefined : end);
  return { token, path: end === -1 ? '/' : pathname.slice(end) };
}

/**
 * The passthrough form of a gateway base URL (`<gw>/anthropic` becomes `<gw>/t/<token>/anthropic`); the
 * gateway root may itself have a path (behind a reverse proxy), so the token goes right before the prefix.
 */
export function withPathToken(baseUrl: string, provider: GatewayProvider, token: string): string {
  const { prefix } = PROVIDERS[provider];
  if (!baseUrl.endsWith(prefix)) throw new KageError('KAGE_INTERNAL', `Expected a gateway base URL ending in ${prefix}, got ${baseUrl}`);
  return `${baseUrl.slice(0, -prefix.length)}${PATH_TOKEN_SEGMENT}${token}${prefix}`;
}
