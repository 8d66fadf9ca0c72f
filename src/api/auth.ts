// API authentication: keys (configured, or generated once and kept as a hash), and the short-lived signed
// tokens that let a browser's EventSource, which cannot set headers, open one task's progress stream.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KageConfig } from '../config/config.js';
import type { ErrorCode } from '../domain/index.js';
import type { PgStore } from '../store/pg-store.js';

/** Where the generated key is written, under KAGE_HOME. */
export const API_KEY_FILE = 'api-key';
const KEY_PREFIX = 'kage_';
/** Serialises key generation between server processes starting together on one store. */
const KEY_GENERATION_LOCK = 7_270_003;
const STREAM_SECRET_SETTING = 'stream_token_secret';
const PROGRESS_PATH = /^\/api\/v1\/tasks\/([^/]+)\/progress\/?$/;

export type AuthResult =
  /** `keyHash`/`keyPrefix` are null for public paths and stream tokens. */
  | { ok: true; via: 'public' | 'key' | 'stream-token'; keyHash: string | null; keyPrefix: string | null }
  | { ok: false; status: 401 | 403; code: Extract<ErrorCode, 'KAGE_AUTH_REQUIRED' | 'KAGE_AUTH_INVALID'>; detail: string };

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query: unknown;
  url: string;
}

export interface ApiAuth {
  authenticate(req: AuthRequest): AuthResult;
  issueStreamToken(taskId: string): { token: string; expiresAt: Date };
  verifyStreamToken(token: string, taskId: string): boolean;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** v1's exact bodies, kept for existing clients. */
const MISSING: AuthResult = { ok: false, status: 401, code: 'KAGE_AUTH_REQUIRED', detail: 'API key required. Provide X-API-Key header.' };
const INVALID: AuthResult = { ok: false, status: 403, code: 'KAGE_AUTH_INVALID', detail: 'Invalid API key' };
const INVALID_TOKEN: AuthResult = { ok: false, status: 403, code: 'KAGE_AUTH_INVALID', detail: 'Invalid or expired stream token' };

/** Paths anyone may read: service info, health, and the API's documentation. */
export function isPublicPath(path: string): boolean {
  return path === '/' || path === '/health' || path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/');
}

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

/** The key from `X-API-Key`, else from `Authorization: Bearer`; empty when neither is given. */
export function presentedKey(headers: AuthRequest['headers']): string {
  const key = headerValue(headers['x-api-key']);
  if (key !== '') return key;
  const match = /^Bearer\s+(.+)$/i.exec(headerValue(headers.authorization));
  return match?.[1]?.trim() ?? '';
}

export async function createApiAuth(deps: { store: PgStore; config: KageConfig; log: Logger }): Promise<{ auth: ApiAuth; generatedKeyFile: string | null }> {
  const { store, config, log } = deps;
  let keys: { hash: Buffer; prefix: string }[];
  let generatedKeyFile: string | null = null;
  if (config.server.apiKeys.length > 0) {
    keys = config.server.apiKeys.map((key) => ({ hash: sha256(key), prefix: key.slice(0, 8) }));
  } else {
    const file = join(config.home, API_KEY_FILE);
    const stored = await store.withLock(KEY_GENERATION_LOCK, () => ensureGeneratedKey(store, file, log));
    keys = stored.map((k) => ({ hash: Buffer.from(k.hash, 'hex'), prefix: k.prefix }));
    generatedKeyFile = existsSync(file) ? file : null;
    if (!generatedKeyFile) {
      log.warn({ file }, 'API keys were generated earlier but their key file is missing; set KAGE_API_KEYS to choose a key');
    }
  }
  const secret = Buffer.from(await store.ensureServerSetting(STREAM_SECRET_SETTING, randomBytes(32).toString('hex')), 'hex');
  const ttlMs = config.server.streamTokenTtlMs;

  /** Constant time in the key's content: every stored hash is compared, whichever matches. */
  function findKey(key: string): { hash: Buffer; prefix: string } | null {
    const hash = sha256(key);
    let found: { hash: Buffer; prefix: string } | null = null;
    for (const k of keys) if (timingSafeEqual(k.hash, hash)) found = k;
    return found;
  }

  const sign = (taskId: string, expiresAtMs: number): Buffer =>
    createHmac('sha256', secret).update(`${taskId.toLowerCase()}.${expiresAtMs}`).digest();

  const auth: ApiAuth = {
    authenticate(req) {
      const path = req.url.split('?', 1)[0] ?? '';
      if (isPublicPath(path)) return { ok: true, via: 'public', keyHash: null, keyPrefix: null };
      const key = presentedKey(req.headers);
      if (key === '') {
        const token = (req.query as Record<string, unknown> | null | undefined)?.token;
        const progress = PROGRESS_PATH.exec(path);
        if (progress && typeof token === 'string' && token !== '') {
          const taskId = decodeURIComponent(progress[1] ?? '');
          return auth.verifyStreamToken(token, taskId) ? { ok: true, via: 'stream-token', keyHash: null, keyPrefix: null } : INVALID_TOKEN;
        }
        return MISSING;
      }
      const found = findKey(key);
      if (!found) return INVALID;
      return { ok: true, via: 'key', keyHash: found.hash.toString('hex'), keyPrefix: key.slice(0, 8) };
    },

    issueStreamToken(taskId) {
      const expiresAtMs = Date.now() + ttlMs;
      return { token: `${expiresAtMs}.${sign(taskId, expiresAtMs).toString('base64url')}`, expiresAt: new Date(expiresAtMs) };
    },

    verifyStreamToken(token, taskId) {
      const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!match) return false;
      const expiresAtMs = Number(match[1]);
      if (expiresAtMs <= Date.now()) return false;
      const given = Buffer.from(match[2]!, 'base64url');
      const expected = sign(taskId, expiresAtMs);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
  return { auth, generatedKeyFile };
}

/**
 * The generated keys' hashes, generating the first key when there is none. Called under a store-wide lock.
 * The key file is written before the hash is stored, so a crash in between never leaves a stored hash
 * whose key nobody has; a key file left by an earlier store (a reset database) is adopted, not replaced.
 */
async function ensureGeneratedKey(store: PgStore, file: string, log: Logger): Promise<{ hash: string; prefix: string }[]> {
  const stored = await store.apiKeys();
  if (stored.length > 0) return stored;
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!/^kage_[A-Za-z0-9_-]{20,}$/.test(key)) {
    key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${key}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    log.info({ file }, 'generated an API key');
  }
  await chmod(file, 0o600);
  const entry = { hash: sha256(key).toString('hex'), prefix: key.slice(0, 8) };
  await store.addApiKey(entry.hash, entry.prefix);
  return [entry];
}
