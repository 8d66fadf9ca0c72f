// The one catalog of stable error codes. Code branches on `code`, never on message text.

export const ERROR_CODES = {
  KAGE_INVALID_INPUT: { http: 422, summary: 'A field has an invalid value' },
  KAGE_INVALID_CONFIG: { http: 500, summary: 'The configuration file or environment is invalid' },
  KAGE_UNKNOWN_AGENT: { http: 422, summary: 'No agent adapter has this id' },
  KAGE_NOT_A_REPO: { http: 422, summary: 'The path is not a git repository' },
  KAGE_BAD_REF: { http: 422, summary: 'The base ref does not exist in the repository' },
  KAGE_TASK_NOT_FOUND: { http: 404, summary: 'No task has this id' },
  KAGE_CLONE_NOT_FOUND: { http: 404, summary: 'The task has no clone with this name' },
  KAGE_TASK_FINISHED: { http: 409, summary: 'The task already finished' },
  KAGE_TASK_NOT_FINISHED: { http: 409, summary: 'The task has not finished yet' },
  KAGE_NOTHING_TO_MERGE: { http: 409, summary: 'No clone produced a result that can be merged' },
  KAGE_MERGE_CONFLICT: { http: 409, summary: 'The merge has conflicts' },
  KAGE_GIT_FAILED: { http: 500, summary: 'A git command failed' },
  KAGE_STORE_UNAVAILABLE: { http: 503, summary: 'The PostgreSQL store cannot be reached or started' },
  KAGE_AGENT_SPAWN_FAILED: { http: 500, summary: 'The agent executable could not be started' },
  KAGE_INSTALL_FAILED: { http: 500, summary: 'Installing the agent CLIs from npm failed' },
  KAGE_CLONE_NO_RESULT: { http: 409, summary: 'The clone has no result (no commit) to compare or merge yet' },
  KAGE_AUTH_REQUIRED: { http: 401, summary: 'No API key was given' },
  KAGE_AUTH_INVALID: { http: 403, summary: 'The API key or stream token is not valid' },
  KAGE_RATE_LIMITED: { http: 429, summary: 'Too many requests for this API key; retry after the given seconds' },
  KAGE_QUEUE_FULL: { http: 429, summary: 'Too many clones are waiting for a worker; retry later' },
  KAGE_ROUTE_NOT_FOUND: { http: 404, summary: 'No endpoint has this method and path' },
  KAGE_MALFORMED_BODY: { http: 400, summary: 'The request body is not valid JSON' },
  KAGE_BODY_TOO_LARGE: { http: 413, summary: 'The request body is larger than the server accepts' },
  KAGE_UNSUPPORTED_MEDIA_TYPE: { http: 415, summary: 'The request body has a content type the endpoint does not accept' },
  KAGE_BAD_REQUEST: { http: 400, summary: 'The request is malformed' },
  KAGE_SECRET_NOT_FOUND: { http: 404, summary: 'No secret has this name' },
  KAGE_SECRET_INVALID_NAME: { http: 422, summary: 'A secret name must be 1-128 letters, digits, `_`, `.`, `/` or `-`' },
  KAGE_SECRET_KEY_MISMATCH: { http: 500, summary: 'The master key does not match the one the secrets were stored with' },
  KAGE_SECRET_INTEGRITY: { http: 500, summary: 'A stored secret failed its integrity check: the row was altered, corrupted or copied under another name' },
  KAGE_SECRET_KEY_FILE_UNSAFE: { http: 500, summary: 'The master key file is readable by group or others, or is not a key' },
  KAGE_NO_RECORDING: { http: 409, summary: 'The task was not recorded by the flight recorder, so it cannot be replayed' },
  KAGE_GATEWAY_OFF: { http: 409, summary: 'Recording and replaying model traffic need the LLM gateway, which is off' },
  KAGE_GATEWAY_UNREACHABLE: { http: 503, summary: 'The `kage gateway` named by gateway.url (KAGE_GATEWAY_URL) does not answer as a kage gateway' },
  KAGE_INTERNAL: { http: 500, summary: 'An unexpected error; the server log has the details under the request id' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class KageError extends Error {
  readonly code: ErrorCode;
  /** The input field the error is about, when there is one (`description`, `clones[1].agent`). */
  readonly field: string | null;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KageError';
    this.code = code;
    this.field = opts.field ?? null;
    this.details = opts.details ?? {};
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

export function isKageError(err: unknown, code?: ErrorCode): err is KageError {
  return err instanceof KageError && (code === undefined || err.code === code);
}

/** Renders a user value for an error message: short, quoted, control characters escaped. */
export function showValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
