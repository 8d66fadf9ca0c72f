// The model endpoints a clone attempt's agent gets, and what is undone when the attempt ends. Three ways:
// - gateway (the default): the gateway's URLs, and a per-clone token as every key; the gateway adds the real one;
// - passthrough (`agents.<id>.auth`, KAGE_GATEWAY_AUTH): the gateway's URLs with the token in their path, and
//   the agent's own credentials: the provider keys kage was given, and its CLI's login copied from the user's HOME;
// - the gateway off: the configured endpoints and keys as they are.
import type { AgentAdapter, ProviderEndpoint, ProviderEndpoints } from '../agents/adapter.js';
import { agentAuthMode } from '../config/config.js';
import { GATEWAY_PROVIDERS, type GatewayGrant, type GatewayProvider } from '../domain/index.js';
import { withPathToken } from '../gateway/path-token.js';
import { REDACTED } from '../gateway/redact.js';
import { copyLoginFiles, removeLoginFiles } from '../process/login-files.js';
import type { CoreContext } from './context.js';
import { withoutGateway } from './flight.js';

export interface ModelAccess {
  providers: ProviderEndpoints;
  /** The adapter's login files copied into the clone's HOME (passthrough only). */
  logins: string[];
  /**
   * `value` with the clone's token taken out of its strings. A passthrough agent's base URLs hold the token,
   * and CLIs print them in their errors; what they print becomes events and the clone's error.
   */
  scrub<T>(value: T): T;
  /** Revokes the token and removes the copied login files. */
  release(): Promise<void>;
}

const keep = <T>(value: T): T => value;

export async function modelAccess(ctx: CoreContext, adapter: AgentAdapter, grant: GatewayGrant, home: string): Promise<ModelAccess> {
  const usesModel = adapter.provider !== undefined;
  const passthrough = usesModel && agentAuthMode(ctx.config, adapter.id) === 'passthrough';
  const gateway = usesModel ? ctx.gateway : null;
  if (usesModel && gateway === null) withoutGateway(ctx, grant);
  const token = gateway === null ? null : await gateway.issueToken(passthrough ? { ...grant, auth: 'passthrough' } : grant);
  const revoke = async (): Promise<void> => {
    if (gateway === null || token === null) return;
    await gateway.revokeToken(token).catch((err: unknown) => ctx.log.warn({ err, clone: grant.cloneId }, 'revoking the gateway token failed'));
  };

  let logins: string[] = [];
  const userHome = ctx.config.env.HOME;
  if (passthrough && userHome !== undefined && userHome !== '') {
    try {
      logins = await copyLoginFiles(userHome, home, adapter.loginFiles ?? []);
    } catch (err) {
      await revoke();
      throw err;
    }
  }
  const release = async (): Promise<void> => {
    await Promise.all([revoke(), removeLoginFiles(home, logins)
      .catch((err: unknown) => ctx.log.warn({ err, clone: grant.cloneId }, 'removing the copied login files failed'))]);
  };
  if (gateway === null || token === null) return { providers: ctx.config.providers, logins, scrub: keep, release };

  const urls = gateway.baseUrls();
  // In passthrough a provider's key is the user's own (kage's environment or `providers`); null leaves the CLI to its login.
  const endpoint = (provider: GatewayProvider): ProviderEndpoint => passthrough
    ? { baseUrl: withPathToken(urls[provider], provider, token), apiKey: ctx.config.providers[provider].apiKey }
    : { baseUrl: urls[provider], apiKey: token };
  return {
    providers: Object.fromEntries(GATEWAY_PROVIDERS.map((p) => [p, endpoint(p)])) as Record<GatewayProvider, ProviderEndpoint>,
    logins,
    scrub: passthrough ? (value) => scrubbed(value, token) : keep,
    release,
  };
}

/** `value` (plain JSON data) with every occurrence of `token` in its strings replaced by `[redacted]`. */
function scrubbed<T>(value: T, token: string): T {
  if (typeof value === 'string') return value.replaceAll(token, REDACTED) as T;
  const text = JSON.stringify(value);
  // A token is base64url: it has nothing JSON escapes, so it appears in the text as it does in the strings.
  return text === undefined || !text.includes(token) ? value : JSON.parse(text.replaceAll(token, REDACTED)) as T;
}
