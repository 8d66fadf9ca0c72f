// A keep-alive HTTP load generator: `concurrency` loops share a list of requests, each loop sending its next
// request when the previous answer has been read in full, so at most `concurrency` are in flight. Each
// request is timed from the moment it is written to the end of its response body.
import http from 'node:http';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

export interface LoadSpec {
  /** `http://host:port` of the server. */
  url: string;
  headers: Record<string, string>;
  concurrency: number;
  requests: LoadRequest[];
  /** Keep the response bodies (in request order), e.g. to learn the ids of created tasks. */
  keepBodies?: boolean;
}

export interface LoadResult {
  latenciesMs: number[];
  elapsedMs: number;
  /** Responses per status code; `error` counts requests that got no response. */
  statuses: Record<string, number>;
  /** The first response outside 2xx (status and body) or transport error, for the report. */
  firstError: string | null;
  bodies: (string | null)[];
}

function send(agent: http.Agent, url: URL, headers: Record<string, string>, req: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = req.body === undefined ? null : Buffer.from(JSON.stringify(req.body));
    const r = http.request({
      agent,
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: req.path,
      headers: payload ? { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length) } : headers,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(payload ?? undefined);
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  const bodies: (string | null)[] = spec.keepBodies ? spec.requests.map(() => null) : [];
  let firstError: string | null = null;
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < spec.requests.length) {
      const i = next++;
      const startedAt = performance.now();
      try {
        const { status, body } = await send(agent, url, spec.headers, spec.requests[i]!);
        latenciesMs.push(performance.now() - startedAt);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (spec.keepBodies) bodies[i] = body;
        if ((status < 200 || status > 299) && firstError === null) firstError = `${status} ${body.slice(0, 300)}`;
      } catch (err) {
        statuses.error = (statuses.error ?? 0) + 1;
        firstError ??= String(err);
      }
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const elapsedMs = performance.now() - startedAt;
  agent.destroy();
  return { latenciesMs, elapsedMs, statuses, firstError, bodies };
}
