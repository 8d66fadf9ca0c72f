// What the gateway knows about each provider: its URL prefix on the gateway (chosen so each CLI's own
// base-URL convention works), its real default endpoint, where clients put their key and where the real key
// goes, the shape of its error bodies, and the model named in a request.
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayProvider } from '../domain/index.js';
import { isObject } from './usage.js';

export interface ProviderSpec {
  name: GatewayProvider;
  /**
   * Path prefix on the gateway; what follows it is appended to the upstream base URL. The base URL a client
   * gets is `<gateway><prefix>`, in the form that provider's variable holds: ANTHROPIC_BASE_URL and
   * GOOGLE_GEMINI_BASE_URL without a version (the clients append `/v1/messages`, `/v1beta/models/…`),
   * OPENAI_BASE_URL with `/v1` (clients append `/chat/completions`, `/responses`), OLLAMA_HOST with any path
   * (kage's worker appends `/api/chat`).
   */
  prefix: string;
  /** The real provider, used when no upstream is configured; same form as the base URL clients get. */
  defaultUpstream: string;
  /** Headers carrying the real key upstream; `bearer` says whether the client sent its token as a Bearer token. */
  upstreamAuth(key: string, bearer: boolean): Record<string, string>;
  errorBody(status: number, message: string): unknown;
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error',
};

const GOOGLE_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  413: 'INVALID_ARGUMENT', 426: 'FAILED_PRECONDITION', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL',
  502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

export const PROVIDERS: Readonly<Record<GatewayProvider, ProviderSpec>> = Object.freeze({
  anthropic: {
    name: 'anthropic',
    prefix: '/anthropic',
    defaultUpstream: 'https://api.anthropic.com',
    // ANTHROPIC_API_KEY goes as x-api-key, ANTHROPIC_AUTH_TOKEN as a Bearer token: the upstream gets the key the
    // same way the client sent its token, which is how the user's real key was meant to be sent.
    upstreamAuth: (key, asBearer) => (asBearer ? bearer(key) : { 'x-api-key': key }),
    errorBody: (status, message) => ({
      type: 'error',
      error: { type: ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message },
    }),
  },
  openai: {
    name: 'openai',
    prefix: '/openai/v1',
    defaultUpstream: 'https://api.openai.com/v1',
    upstreamAuth: (key) => bearer(key),
    errorBody: (status, message) => ({
      error: {
        message,
        type: status >= 500 ? 'server_error' : status === 429 ? 'rate_limit_exceeded' : 'invalid_request_error',
        param: null,
        code: status === 401 ? 'invalid_api_key' : null,
      },
    }),
  },
  gemini: {
    name: 'gemini',
    prefix: '/gemini',
    defaultUpstream: 'https://generativelanguage.googleapis.com',
    // A header rather than `?key=`: keys in URLs end up in logs.
    upstreamAuth: (key) => ({ 'x-goog-api-key': key }),
    errorBody: (status, message) => ({ error: { code: status, message, status: GOOGLE_STATUSES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') } }),
  },
  ollama: {
    name: 'ollama',
    prefix: '/ollama',
    defaultUpstream: 'http://127.0.0.1:11434',
    // Ollama's cloud API takes OLLAMA_API_KEY as a Bearer token; a local server ignores it.
    upstreamAuth: (key) => bearer(key),
    errorBody: (_status, message) => ({ error: message }),
  },
});

/** The provider whose prefix `path` starts with, and the rest of the path (`''` for the prefix itself). */
export function routeOf(path: string): { spec: ProviderSpec; rest: string } | null {
  for (const spec of Object.values(PROVIDERS)) {
    if (path === spec.prefix || path.startsWith(`${spec.prefix}/`)) return { spec, rest: path.slice(spec.prefix.length) };
  }
  return null;
}

/** Headers a client may carry its key in; all are removed before forwarding. */
export const CREDENTIAL_HEADERS: readonly string[] = Object.freeze(['authorization', 'x-api-key', 'x-goog-api-key', 'api-key']);

/** The token a client sent as its API key, in whichever of the providers' places it put it. */
export function clientCredential(headers: IncomingHttpHeaders, url: URL): { token: string; bearer: boolean } | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return { token: match[1]!, bearer: true };
  }
  for (const name of ['x-api-key', 'x-goog-api-key', 'api-key']) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') return { token: value.trim(), bearer: false };
  }
  const key = url.searchParams.get('key');
  return key ? { token: key, bearer: false } : null;
}

/** The model a request asks for: Gemini names it in the path, the others in the body's `model`. */
export function requestedModel(provider: GatewayProvider, rest: string, body: unknown): string | null {
  if (provider === 'gemini') {
    const match = /\/models\/([^:/]+)(?::|$)/.exec(rest);
    if (match) return decodeURIComponent(match[1]!);
  }
  return isObject(body) && typeof body.model === 'string' && body.model !== '' ? body.model : null;
}
