// A `kage gateway` running in another process or on another machine, as the clones of this process use it:
// its base URLs, and per-clone tokens issued into the shared store (gateway_tokens), which that gateway
// resolves there. Checked once at start to answer as a kage gateway, so a wrong URL fails the process
// rather than every clone.
import http from 'node:http';
import https from 'node:https';
import { GATEWAY_PROVIDERS, KageError, type GatewayGrant, type GatewayProvider } from '../domain/index.js';
import { PROVIDERS } from './providers.js';
import { createTokenRegistry, type GatewayTokenStore } from './tokens.js';

export interface RemoteGatewayStore extends GatewayTokenStore {
  /** The message of the remote gateway's budget refusal of a clone, as it recorded it; null when there was none. */
  budgetRefusal(taskId: string, cloneId: string): Promise<string | null>;
}

export interface RemoteGateway {
  /** The gateway's URL, without a trailing slash. */
  url: string;
  baseUrls(): Record<GatewayProvider, string>;
  issueToken(grant: GatewayGrant): Promise<string>;
  revokeToken(token: string): Promise<void>;
  /**
   * Why the gateway refused the clone's requests for its budget (null: it did not). It publishes the stop
   * as a NOTIFY, which may be lost or come after the CLI gave up on the refusal; its record decides.
   */
  budgetRefusal(grant: GatewayGrant): Promise<string | null>;
  close(): Promise<void>;
}

/** How long the gateway has to answer the check at start. */
export const REMOTE_CHECK_TIMEOUT_MS = 5000;

/** What a kage gateway answers at its root (gateway.ts). */
const GREETING = 'kage gateway';

/** Resolves when `url` answers `GET /` as a kage gateway within `timeoutMs`; else KAGE_GATEWAY_UNREACHABLE. */
export async function checkRemoteGateway(url: string, timeoutMs = REMOTE_CHECK_TIMEOUT_MS): Promise<void> {
  const fail = (reason: string, cause?: unknown): KageError => new KageError('KAGE_GATEWAY_UNREACHABLE',
    `The LLM gateway at ${url} (\`gateway.url\`, KAGE_GATEWAY_URL) ${reason}; start \`kage gateway\` there, or fix or unset the URL`,
    { field: 'gateway.url', details: { url }, ...(cause === undefined ? {} : { cause }) });
  const answer = await greeting(new URL(`${url}/`), timeoutMs).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ETIMEDOUT' ? fail(`did not answer within ${timeoutMs / 1000} s`, err) : fail(`cannot be reached: ${err.code ?? err.message}`, err);
  });
  if (answer.status !== 200 || !answer.text.startsWith(GREETING)) {
    throw fail(`is not a kage gateway: GET / answered ${answer.status} ${JSON.stringify(answer.text.slice(0, 60))}, not "${GREETING}"`);
  }
}

/**
 * `GET /` with node:http rather than fetch, which refuses ports on the Fetch standard's block list (6000,
 * 6667, ...) that a gateway may well listen on. The first 200 bytes of the answer are enough.
 */
function greeting(url: URL, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= 200) res.destroy();
      });
      res.on('close', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: text.slice(0, 200) });
      });
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function connectRemoteGateway(url: string, store: RemoteGatewayStore, opts: { timeoutMs?: number } = {}): Promise<RemoteGateway> {
  await checkRemoteGateway(url, opts.timeoutMs);
  const tokens = createTokenRegistry(store);
  return {
    url,
    baseUrls: () => Object.fromEntries(GATEWAY_PROVIDERS.map((p) => [p, `${url}${PROVIDERS[p].prefix}`])) as Record<GatewayProvider, string>,
    issueToken: (grant) => tokens.issue(grant),
    revokeToken: (token) => tokens.revoke(token),
    budgetRefusal: (grant) => (grant.cloneId === null ? Promise.resolve(null) : store.budgetRefusal(grant.taskId, grant.cloneId)),
    close: async () => undefined,
  };
}
