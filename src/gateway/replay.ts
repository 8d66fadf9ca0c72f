// The replay upstream: answers a replaying clone's requests from the flight recorder's recording of the
// clone of the same name in the recorded task, attempt by attempt, without reaching any provider. Each
// request gets the recorded exchange that matches it (replay-match.ts); its answer goes out with the recorded
// status and headers and its chunks in the recorded order and sizes (by default as fast as the client reads,
// or with the recorded gaps), with the replaying clone's worktree and HOME in place of the recorded ones.
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FlightGrant, GatewayGrant, RecordedRequest, RecordedResponse } from '../domain/index.js';
import type { ForwardOutcome } from './forward.js';
import { rewriteAnswer, type PathSwap } from './path-rewrite.js';
import { REDACTED } from './redact.js';
import { requestedModel, type ProviderSpec } from './providers.js';
import { chooseExchange, firstDifference, fingerprint, normalizeRequest, type ReplayCandidate } from './replay-match.js';
import { decodeBody, parseBody } from './request.js';

/** Where recordings are read (PgRecordingStore). */
export interface ReplayStore {
  recordedRequests(taskId: string, cloneName: string, attempt: number): Promise<RecordedRequest[]>;
  recordedResponse(id: string): Promise<RecordedResponse | null>;
}

/** How recorded answers are streamed: as fast as the client reads, or with the gaps between chunks as recorded. */
export type ReplayTiming = 'fast' | 'recorded';

/** A replayed request that did not meet its recorded twin: the payload of a `replay_mismatch` event. */
export interface ReplayMismatch {
  /**
   * `request`: answered with the next recorded exchange of the same route, whose request differs;
   * `exhausted`: no recorded exchange left for the route, answered 409;
   * `incomplete`: the recorded answer broke off or was cut at the recorder's cap, and the replayed one does too.
   */
  reason: 'request' | 'exhausted' | 'incomplete';
  clone: string;
  attempt: number;
  provider: string;
  method: string;
  path: string;
  /** The recorded exchange that answered; null when none did. */
  seq: number | null;
  /** Exchanges recorded for the attempt, and how many have answered so far. */
  recorded: number;
  used: number;
  /** Where the normalized requests first differ (`request` only). */
  difference: { offset: number; recorded: string; replayed: string } | null;
}

export interface ReplayOptions {
  store: ReplayStore;
  timing: ReplayTiming;
  onMismatch(grant: GatewayGrant, mismatch: ReplayMismatch): void;
}

export interface ReplayRequest {
  grant: GatewayGrant;
  flight: FlightGrant;
  spec: ProviderSpec;
  method: string;
  /** After the provider prefix, with the query string redacted (as recorded). */
  path: string;
  body: Buffer;
  contentEncoding: string | undefined;
  model: string | null;
}

export interface ReplayHooks {
  onResponse(status: number, headers: IncomingHttpHeaders): void;
  onChunk(chunk: Buffer): void;
}

export interface Replayer {
  serve(request: ReplayRequest, res: ServerResponse, hooks: ReplayHooks): Promise<ForwardOutcome>;
  /** Drops what is held in memory for the grant's clone attempt (its token was revoked). */
  forget(grant: GatewayGrant): void;
}

/** The replay answer's `x-kage-gateway-error` when the recording has no exchange left. */
export const REPLAY_EXHAUSTED = 'replay-exhausted';

interface Session {
  requests: { id: string; seq: number; workdir: string | null; home: string | null }[];
  candidates: ReplayCandidate[];
  normalized: string[];
  used: Set<number>;
}

function bodyText(body: Buffer, encoding: string | undefined): string {
  return decodeBody(body, encoding)?.toString('utf8') ?? body.toString('base64');
}

/**
 * What a request must share with a recorded one: provider, method and path with its query, less redacted
 * credentials (a client may send its key in the URL in one run and in a header in the next).
 */
function route(provider: string, method: string, path: string): string {
  const [pathname, query] = path.split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  for (const [name, value] of [...params]) if (value === REDACTED) params.delete(name);
  const rest = params.toString();
  return `${provider} ${method} ${pathname}${rest === '' ? '' : `?${rest}`}`;
}

function outcome(patch: Partial<ForwardOutcome>): ForwardOutcome {
  return { status: null, firstByteAt: null, unreachable: false, clientClosed: false, error: null, unreachableReason: null, held: null, ...patch };
}

/** Resolves when the socket can take more, or is gone. */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function pauseFor(ms: number, res: ServerResponse): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

function ended(res: ServerResponse, last?: string): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', () => resolve());
    if (last === undefined) res.end(() => resolve());
    else res.end(last, () => resolve());
  });
}

export function createReplayer(options: ReplayOptions): Replayer {
  const sessions = new Map<string, Promise<Session>>();
  const keyOf = (grant: GatewayGrant, flight: FlightGrant): string => `${grant.taskId}/${grant.cloneId}/${flight.attempt}`;

  async function load(flight: FlightGrant): Promise<Session> {
    const source = flight.sourceTaskId!;
    const recorded = await options.store.recordedRequests(source, flight.cloneName, flight.attempt);
    const normalized = recorded.map((r) => normalizeRequest(bodyText(r.body, r.headers['content-encoding'] as string | undefined),
      { taskId: source, workdir: r.workdir, home: r.home }));
    return {
      requests: recorded.map(({ id, seq, workdir, home }) => ({ id, seq, workdir, home })),
      candidates: recorded.map((r, i) => ({
        seq: r.seq,
        route: route(r.provider, r.method, r.path),
        model: requestedModel(r.provider, r.path.split('?', 1)[0]!, parseBody(r.body, r.headers['content-encoding'] as string | undefined)),
        key: fingerprint(normalized[i]!),
      })),
      normalized,
      used: new Set(),
    };
  }

  function session(grant: GatewayGrant, flight: FlightGrant): Promise<Session> {
    const key = keyOf(grant, flight);
    let found = sessions.get(key);
    if (found === undefined) {
      found = load(flight);
      sessions.set(key, found);
      found.catch(() => sessions.delete(key));
    }
    return found;
  }

  async function send(res: ServerResponse, recorded: RecordedResponse, swaps: PathSwap[], hooks: ReplayHooks): Promise<ForwardOutcome> {
    if (res.destroyed) return outcome({ clientClosed: true, error: 'the client disconnected' });
    if (recorded.status === null) {
      // The recorded client went away before any answer came: so does this one's answer.
      res.destroy();
      return outcome({ clientClosed: true, error: recorded.error ?? 'the recorded exchange has no answer' });
    }
    const { body, chunkSizes } = rewriteAnswer(recorded.body, recorded.chunkSizes, swaps);
    const whole = recorded.complete && !recorded.truncated;
    const headers: OutgoingHttpHeaders = { ...recorded.headers };
    if (headers['content-length'] !== undefined) {
      if (whole) headers['content-length'] = String(body.length);
      else delete headers['content-length'];
    }
    hooks.onResponse(recorded.status, headers as IncomingHttpHeaders);
    res.writeHead(recorded.status, headers);
    res.flushHeaders();
    const answeredAt = performance.now();
    let firstByteAt: number | null = null;
    let offset = 0;
    for (let i = 0; i < chunkSizes.length && !res.destroyed; i++) {
      const chunk = body.subarray(offset, offset + chunkSizes[i]!);
      offset += chunkSizes[i]!;
      if (chunk.length === 0) continue;
      if (options.timing === 'recorded') await pauseFor(answeredAt + (recorded.chunkOffsetsMs[i] ?? 0) - performance.now(), res);
      if (res.destroyed) break;
      firstByteAt ??= performance.now();
      hooks.onChunk(chunk);
      if (!res.write(chunk)) await writable(res);
    }
    if (res.destroyed && !res.writableFinished) return outcome({ status: recorded.status, firstByteAt, clientClosed: true, error: 'the client disconnected' });
    if (!whole) {
      // The recorded answer broke off (or was cut at the cap): the replayed one breaks off where it did.
      res.destroy();
      return outcome({ status: recorded.status, firstByteAt,
        error: recorded.error ?? `the recorded answer was cut at ${recorded.body.length} of ${recorded.bytes} bytes` });
    }
    await ended(res);
    return outcome({ status: recorded.status, firstByteAt, error: recorded.error });
  }

  return {
    async serve(request, res, hooks) {
      const { grant, flight, spec, method, path } = request;
      const s = await session(grant, flight);
      const replayed = normalizeRequest(bodyText(request.body, request.contentEncoding), { taskId: grant.taskId, workdir: flight.workdir, home: flight.home });
      const choice = chooseExchange(s.candidates, s.used, { route: route(spec.name, method, path), model: request.model, key: fingerprint(replayed) });
      const mismatch = (reason: ReplayMismatch['reason'], index: number | null, difference: ReplayMismatch['difference'] = null): void => {
        options.onMismatch(grant, { reason, clone: flight.cloneName, attempt: flight.attempt, provider: spec.name, method, path,
          seq: index === null ? null : s.requests[index]!.seq, recorded: s.requests.length, used: s.used.size, difference });
      };
      if (choice === null) {
        const message = `kage replay: the recording of clone ${flight.cloneName} (attempt ${flight.attempt + 1}) has no more exchanges for ` +
          `${method} ${path} (${s.used.size} of ${s.requests.length} used)`;
        mismatch('exhausted', null);
        const text = JSON.stringify(spec.errorBody(409, message));
        res.writeHead(409, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-kage-gateway-error': REPLAY_EXHAUSTED });
        await ended(res, text);
        return outcome({ status: 409, error: message });
      }
      // Taken before anything is awaited, so a concurrent request of the clone cannot get the same exchange.
      s.used.add(choice.index);
      if (!choice.exact) mismatch('request', choice.index, firstDifference(s.normalized[choice.index]!, replayed));
      const chosen = s.requests[choice.index]!;
      const recorded = await options.store.recordedResponse(chosen.id);
      if (recorded === null) throw new Error(`the recorded exchange ${chosen.id} is gone`);
      const swaps = [{ from: chosen.workdir, to: flight.workdir }, { from: chosen.home, to: flight.home }]
        .filter((swap): swap is PathSwap => swap.from !== null && swap.to !== null);
      const result = await send(res, recorded, swaps, hooks);
      if (!recorded.complete || recorded.truncated) mismatch('incomplete', choice.index);
      return result;
    },
    forget(grant) {
      if (grant.flight) sessions.delete(keyOf(grant, grant.flight));
    },
  };
}
