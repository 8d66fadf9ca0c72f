// The gateway's vocabulary shared with the store: who a per-clone token stands for, and one metered request.
import type { FlightGrant } from './flight.js';
import type { MeteredUsage, Usage } from './task.js';

/** The model providers the gateway fronts, one URL prefix each. */
export type GatewayProvider = 'anthropic' | 'openai' | 'gemini' | 'ollama';

export const GATEWAY_PROVIDERS: readonly GatewayProvider[] = Object.freeze(['anthropic', 'openai', 'gemini', 'ollama']);

/** How an agent authenticates to its provider through the gateway (`agents.<id>.auth`, KAGE_GATEWAY_AUTH). */
export type GatewayAuthMode =
  /** The agent's key is its per-clone token; the gateway puts kage's real key in its place. */
  | 'gateway'
  /** The agent keeps its own key or login, which the gateway forwards unchanged; the token is in its base URL's path. */
  | 'passthrough';

export const GATEWAY_AUTH_MODES: readonly GatewayAuthMode[] = Object.freeze(['gateway', 'passthrough']);

/** What a per-clone token grants: model traffic billed to this task and clone. */
export interface GatewayGrant {
  taskId: string;
  /** Null for traffic that is the task's but no clone's (a judge's review, later). */
  cloneId: string | null;
  /** How the clone sends its token; absent means `gateway`. */
  auth?: GatewayAuthMode;
  /** Set when the task records its model traffic or replays a recording (flight recorder). */
  flight?: FlightGrant | null;
}

/** One request through the gateway, as metered. Token counts follow `Usage`: input excludes the cached part. */
export interface GatewayRequestRecord extends GatewayGrant, Usage {
  provider: GatewayProvider;
  /** The model the response named, else the one the request asked for; null when neither did. */
  model: string | null;
  method: string;
  /** The path after the provider prefix, without the query string (Gemini clients put the key there). */
  path: string;
  /** The status sent to the client; null when the client went away before any answer. */
  status: number | null;
  /** Whether the answer streamed (SSE, NDJSON or a streamed JSON array). */
  stream: boolean;
  costUsd: number;
  /** Arrival of the request to the end of the answer to the client. */
  latencyMs: number;
  /** Arrival of the request to the upstream's first body byte; null when none came. */
  ttfbMs: number | null;
  startedAt: Date;
  /** Why the request did not complete normally (upstream unreachable, client disconnected, ...). */
  error: string | null;
}

/** Metered totals of one clone (or, with `cloneId` null in a summary, the whole task). */
export interface GatewayUsageTotals extends MeteredUsage {
  cloneId: string | null;
}

export interface GatewayUsageSummary {
  taskId: string;
  total: GatewayUsageTotals;
  clones: GatewayUsageTotals[];
}
