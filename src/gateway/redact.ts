// What the flight recorder keeps of a request's and an answer's headers and of a URL, and what a log shows
// of a request's URL: everything but credentials. The clone's token arrives in a provider's key header (or
// Gemini's `?key=`), or in passthrough in the path (`/t/<token>/...`) beside the agent's own key; cookies and
// any header or parameter named like a key, token or secret are dropped the same way, so a stored exchange
// can be shown or shared without handing anyone a working credential.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { PATH_TOKEN_SEGMENT, splitPathToken } from './path-token.js';

export const REDACTED = '[redacted]';

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'cookie', 'set-cookie']);
/** Vendor headers that carry credentials under other names (`x-amz-security-token`, `x-auth-token`, ...). */
const SECRET_HEADER_PATTERN = /api-?key|token|secret|password|credential|cookie|authorization/i;
/** Query parameters that carry keys: Gemini's `key`, and the usual names for the same thing elsewhere. */
const SECRET_PARAMS = new Set(['key', 'api_key', 'apikey', 'api-key', 'access_token', 'token']);

export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || SECRET_HEADER_PATTERN.test(lower);
}

/** The headers with every credential's value replaced by `[redacted]`; names kept, so what was sent stays visible. */
export function redactHeaders(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (isSecretHeader(name)) out[name.toLowerCase()] = REDACTED;
    else out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** `path` with `url`'s query string, every key-like parameter's value redacted. */
export function redactedPath(path: string, url: URL): string {
  if (url.search === '' || url.search === '?') return path;
  const params = new URLSearchParams();
  for (const [name, value] of url.searchParams) params.append(name, SECRET_PARAMS.has(name.toLowerCase()) ? REDACTED : value);
  return `${path}?${params.toString()}`;
}

/** `pathname` with a passthrough token in it replaced by `[redacted]`. */
export function redactPathToken(pathname: string): string {
  const split = splitPathToken(pathname);
  if (split === null) return pathname;
  const rest = pathname.length > PATH_TOKEN_SEGMENT.length + split.token.length ? split.path : '';
  return `${PATH_TOKEN_SEGMENT}${REDACTED}${rest}`;
}

/** A request's URL as a log or an error message may show it: its path token and key-like parameters redacted. */
export function redactedRequestUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw, 'http://gateway.invalid');
  } catch {
    return REDACTED;
  }
  return redactedPath(redactPathToken(url.pathname), url);
}
