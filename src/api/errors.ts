// The API's one error handler: every failure becomes JSON with a stable `code`, a `message` naming the
// field, and v1's `detail` (a string, or FastAPI's list of `{loc, msg, type}` for validation errors).
// Bad input is always a 4xx; anything unexpected is a 500 that names the request id and is logged.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, isKageError, KageError, showValue, type ErrorCode } from '../domain/index.js';

export interface DetailItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface ErrorBody {
  /** v1's field: a message, or the list of invalid fields. */
  detail: string | DetailItem[];
  code: ErrorCode;
  message: string;
  /** The input field the error is about, when there is one. */
  field?: string;
  request_id?: string;
  [extra: string]: unknown;
}

type Location = 'body' | 'query' | 'path' | 'header';

/** `cli_assignments[0].timeout` → ['cli_assignments', 0, 'timeout']. */
export function fieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of field.match(/[^.[\]]+/g) ?? []) out.push(/^\d+$/.test(part) ? Number(part) : part);
  return out;
}

/** ['cli_assignments', 0, 'timeout'] → `cli_assignments[0].timeout`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const LOCATIONS: Record<string, Location> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Fastify's schema validation failure (zod issues) as a v1-style 422. */
function validationBody(err: FastifyError, req: FastifyRequest): ErrorBody {
  const where = LOCATIONS[err.validationContext ?? 'body'] ?? 'body';
  const source = where === 'body' ? req.body : where === 'query' ? req.query : where === 'path' ? req.params : req.headers;
  const detail: DetailItem[] = (err.validation ?? []).map((v) => {
    const path = v.instancePath.split('/').filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    return { loc: [where, ...path], msg: v.message ?? 'invalid', type: v.keyword };
  });
  const first = detail[0];
  const path = first ? first.loc.slice(1) : [];
  const field = path.length > 0 ? fieldName(path) : where;
  const value = path.length > 0 ? valueAt(source, path) : source;
  const got = value === undefined ? (path.length > 0 ? ', got nothing' : '') : `, got ${showValue(value)}`;
  return {
    detail,
    code: 'KAGE_INVALID_INPUT',
    message: `Invalid \`${field}\`${where === 'body' ? '' : ` (${where})`}: ${first?.msg ?? 'invalid'}${got}`,
    field,
  };
}

/** Where a KageError's field lives: path parameters by name, everything else in the body unless told. */
function kageLocation(err: KageError): (string | number)[] {
  const loc = err.details.loc;
  if (Array.isArray(loc)) return loc as (string | number)[];
  if (err.field === 'id' || err.field === 'name') return ['path', err.field];
  return ['body', ...fieldPath(err.field ?? '')];
}

function kageBody(err: KageError): ErrorBody {
  const body: ErrorBody = { detail: err.message, code: err.code, message: err.message };
  if (err.field) {
    body.field = err.field;
    if (err.httpStatus === 422) body.detail = [{ loc: kageLocation(err), msg: err.message, type: err.code }];
  }
  const validAgents = err.details.validAgents;
  if (Array.isArray(validAgents)) body.valid_agents = validAgents;
  if (err.details.alternative !== undefined) body.alternative = err.details.alternative;
  return body;
}

/** Fastify's own request errors (body parsing, limits) by their FST code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'KAGE_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'KAGE_MALFORMED_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'KAGE_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'KAGE_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'KAGE_BAD_REQUEST',
};

export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ ...body, request_id: reply.request.id });
}

export function installErrorHandling(app: FastifyInstance, opts: { bodyLimitBytes: number }): void {
  app.setErrorHandler((raw: unknown, req, reply) => {
    const err = raw as FastifyError;
    if (isKageError(raw)) {
      const retryAfter = raw.details.retryAfterSeconds;
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
      if (raw.httpStatus >= 500) req.log.error({ err: raw }, raw.message);
      return sendError(reply, raw.httpStatus, kageBody(raw));
    }
    if (err && Array.isArray(err.validation)) return sendError(reply, 422, validationBody(err, req));
    const mapped = err && typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) {
      const message = mapped === 'KAGE_BODY_TOO_LARGE'
        ? `The request body is larger than ${opts.bodyLimitBytes} bytes (KAGE_BODY_LIMIT)`
        : mapped === 'KAGE_UNSUPPORTED_MEDIA_TYPE'
          ? `Unsupported content type ${showValue(req.headers['content-type'] ?? '')}; send application/json`
          : `${err.message}`;
      return sendError(reply, ERROR_CODES[mapped].http === 400 ? (err.statusCode ?? 400) : ERROR_CODES[mapped].http,
        { detail: message, code: mapped, message });
    }
    const status = err?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(reply, status, { detail: err.message, code: 'KAGE_BAD_REQUEST', message: err.message });
    }
    req.log.error({ err: raw }, 'unexpected error');
    const message = `An unexpected error occurred; the server log has the details under request id ${req.id}`;
    return sendError(reply, 500, { detail: 'Internal Server Error', code: 'KAGE_INTERNAL', message });
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0];
    return sendError(reply, 404, { detail: 'Not Found', code: 'KAGE_ROUTE_NOT_FOUND', message: `No endpoint ${req.method} ${path}` });
  });
}
