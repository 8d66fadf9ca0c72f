// Which recorded exchange answers a replayed request. Requests are compared after the parts that differ
// between two runs of the same task by nature are masked: the clone's worktree and HOME paths, the task's
// short id (in branch names), UUIDs (session ids), long hex ids (device ids) and dates. Pure: no I/O.
import { createHash } from 'node:crypto';

/** What makes one run's requests differ from another's without the agent doing anything differently. */
export interface RunIdentity {
  taskId: string;
  workdir: string | null;
  home: string | null;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const LONG_HEX = /\b[0-9a-f]{32,}\b/gi;
const DATE = /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g;

function escapings(text: string): string[] {
  const once = JSON.stringify(text).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [...new Set([twice, once, text])];
}

/** The request body as text with one run's own names masked, so two runs of the same conversation compare equal. */
export function normalizeRequest(body: string, run: RunIdentity): string {
  let text = body;
  for (const [value, mask] of [[run.workdir, '<workdir>'], [run.home, '<home>']] as const) {
    if (!value) continue;
    for (const form of escapings(value)) text = text.split(form).join(mask);
  }
  const short = run.taskId.slice(0, 8);
  return text.split(`kage/${short}/`).join('kage/<task>/').replace(UUID, '<uuid>').replace(LONG_HEX, '<hex>').replace(DATE, '<date>');
}

export function fingerprint(normalized: string): string {
  return createHash('sha256').update(normalized).digest('hex');
}

/** A recorded exchange as the matcher sees it. */
export interface ReplayCandidate {
  seq: number;
  /** `<provider> <method> <path with query>`. */
  route: string;
  model: string | null;
  /** Fingerprint of the normalized request body. */
  key: string;
}

export interface ReplayQuery {
  route: string;
  model: string | null;
  key: string;
}

/** The chosen candidate's index, and whether its request equals the replayed one. */
export type ReplayChoice = { index: number; exact: boolean } | null;

/**
 * The recorded exchange that answers `query`, among those not `used` yet, in recorded order: the first on
 * the same route with the same request; else the first on the same route asking for the same model; else
 * the first on the same route. Null when no unused exchange has the route: the recording has no more.
 * Concurrent requests (a CLI's side calls) may arrive in another order than recorded; matching on the
 * request keeps each with its own answer.
 */
export function chooseExchange(candidates: readonly ReplayCandidate[], used: ReadonlySet<number>, query: ReplayQuery): ReplayChoice {
  let sameModel = -1;
  let sameRoute = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (used.has(i) || c.route !== query.route) continue;
    if (c.key === query.key) return { index: i, exact: true };
    if (sameModel === -1 && c.model === query.model) sameModel = i;
    if (sameRoute === -1) sameRoute = i;
  }
  const index = sameModel !== -1 ? sameModel : sameRoute;
  return index === -1 ? null : { index, exact: false };
}

/** Where two normalized requests first differ, with a little context from each (for the mismatch event). */
export function firstDifference(recorded: string, replayed: string, context = 60): { offset: number; recorded: string; replayed: string } {
  let offset = 0;
  const limit = Math.min(recorded.length, replayed.length);
  while (offset < limit && recorded.charCodeAt(offset) === replayed.charCodeAt(offset)) offset++;
  const from = Math.max(0, offset - context);
  return { offset, recorded: recorded.slice(from, offset + context), replayed: replayed.slice(from, offset + context) };
}
