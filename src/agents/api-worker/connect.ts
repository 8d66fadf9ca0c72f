// Connection-level failures, shared by the providers: a TCP probe that fails fast when nothing listens
// (fetch alone would wait out its own connect timeout on a silent host), and the mapping of fetch's
// errors to `unreachable` (no server there: permanent) or `network` (the connection broke: may pass).
import net from 'node:net';
import { ProviderError } from './provider.js';

/** Error codes that mean nothing could be connected to at all. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

export function unreachable(label: string, baseUrl: string, reason: string): ProviderError {
  return new ProviderError(`cannot reach ${label} at ${baseUrl}: ${reason}`, 'unreachable');
}

/** Resolves once a TCP connection to the URL's host and port opens; a refused connection fails at once. */
export function probeTcp(label: string, baseUrl: string, timeoutMs: number): Promise<void> {
  const url = new URL(baseUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(label, baseUrl, `connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(unreachable(label, baseUrl, err.message));
    });
  });
}

/** A ProviderError for whatever fetch (or reading its body) threw. */
export function fetchFailure(label: string, baseUrl: string, err: unknown, requestTimeoutMs: number): ProviderError {
  if (err instanceof ProviderError) return err;
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ProviderError(`${label} at ${baseUrl} did not finish answering within ${requestTimeoutMs / 1000} s`, 'network');
  }
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return unreachable(label, baseUrl, reason);
  return new ProviderError(`connection to ${label} at ${baseUrl} failed: ${reason}`, 'network');
}

/** The base URL from `variable`, without trailing slashes, else `fallback`. */
export function baseUrlFrom(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = (env[variable] ?? '').trim().replace(/\/+$/, '');
  return value === '' ? fallback : value;
}

/** Throws `unreachable` unless the base URL is an http(s) URL: a typo in the variable is not worth a retry. */
export function checkHttpUrl(label: string, baseUrl: string, variable: string): void {
  let protocol = '';
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw unreachable(label, baseUrl, `${variable} is not an http(s) URL`);
}
