// The client's request as the gateway forwards it: the body read whole (requests are small next to answers,
// and the model and size must be known before the budget and rate-limit steps), the upstream URL, and the
// headers with the client's credential swapped for the real one, or in passthrough kept as the client sent it.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { CREDENTIAL_HEADERS } from './providers.js';
import { HOP_BY_HOP } from './forward.js';

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyTooLarge(`The request body is over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body decompressed when it was sent compressed; null for an unknown encoding or a corrupt body. */
export function decodeBody(body: Buffer, encoding: string | undefined): Buffer | null {
  try {
    const enc = (encoding ?? 'identity').trim().toLowerCase();
    return enc === 'gzip' ? gunzipSync(body) : enc === 'deflate' ? inflateSync(body) : enc === 'br' ? brotliDecompressSync(body)
      : enc === 'identity' ? body : null;
  } catch {
    return null;
  }
}

/** The body as JSON for reading `model`, decompressed when it was sent compressed; null when it is not JSON. */
export function parseBody(body: Buffer, encoding: string | undefined): unknown {
  if (body.length === 0) return null;
  const plain = decodeBody(body, encoding);
  try {
    return plain === null ? null : JSON.parse(plain.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * What goes upstream in place of the client's credential: the headers carrying kage's real key (`{}` sends
 * none), or `passthrough`, the client's own credential as it sent it.
 */
export type UpstreamAuth = Readonly<Record<string, string>> | 'passthrough';

/** `<upstream base><rest>` with the client's query string, minus a `key` parameter (Gemini's URL key) unless it passes through. */
export function upstreamUrl(base: string, rest: string, clientUrl: URL, auth: UpstreamAuth = {}): URL {
  const url = new URL(`${base}${rest}`);
  for (const [name, value] of clientUrl.searchParams) {
    if (name !== 'key' || auth === 'passthrough') url.searchParams.append(name, value);
  }
  return url;
}

/**
 * The client's headers minus hop-by-hop ones, its credential and `host`, plus the real credential (in
 * passthrough, the client's credential stays). The answer is asked for uncompressed so the usage reader sees
 * plain text and the client gets the same bytes.
 */
export function upstreamHeaders(headers: IncomingHttpHeaders, bodyBytes: number, auth: UpstreamAuth): OutgoingHttpHeaders {
  const listed = new Set(String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  const keepCredential = auth === 'passthrough';
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || (!keepCredential && CREDENTIAL_HEADERS.includes(name))) continue;
    if (name === 'host' || name === 'content-length' || name === 'accept-encoding' || name === 'expect') continue;
    out[name] = value;
  }
  if (bodyBytes > 0) out['content-length'] = String(bodyBytes);
  out['accept-encoding'] = 'identity';
  return keepCredential ? out : { ...out, ...auth };
}
