// The HTTP side of `kage stress`: JSON requests to the server with the API key, a deadline per request,
// and failures returned as values (a refused connection is something to report, not to crash on).
export interface HttpAnswer {
  /** 0 when no HTTP answer came back (connection refused, reset, timed out). */
  status: number;
  body: unknown;
  /** What went wrong below HTTP, when status is 0. */
  error: string | null;
  /** Seconds from `Retry-After`, when the server sent one. */
  retryAfterS: number | null;
}

export interface StressHttp {
  get(path: string, opts?: { auth?: boolean }): Promise<HttpAnswer>;
  post(path: string, body: unknown): Promise<HttpAnswer>;
}

const REQUEST_TIMEOUT_MS = 30_000;

function describeFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export function createStressHttp(baseUrl: string, key: string): StressHttp {
  async function request(method: 'GET' | 'POST', path: string, body: unknown, auth: boolean): Promise<HttpAnswer> {
    const headers: Record<string, string> = {};
    if (auth) headers['x-api-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): keep the text for the report.
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      return { status: res.status, body: parsed, error: null, retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null };
    } catch (err) {
      return { status: 0, body: null, error: describeFailure(err), retryAfterS: null };
    }
  }
  return {
    get: (path, opts = {}) => request('GET', path, undefined, opts.auth ?? true),
    post: (path, body) => request('POST', path, body, true),
  };
}

/** One line for a failed answer: the server's message or `detail`, else the status or the transport error. */
export function describeAnswer(answer: HttpAnswer): string {
  if (answer.status === 0) return answer.error ?? 'no answer';
  const body = answer.body as { message?: unknown; detail?: unknown } | string | null;
  if (typeof body === 'string') return `HTTP ${answer.status}: ${body.slice(0, 200)}`;
  const text = typeof body?.message === 'string' ? body.message : typeof body?.detail === 'string' ? body.detail : JSON.stringify(body?.detail ?? body);
  return `HTTP ${answer.status}: ${text}`;
}
