// The checks a request passes between authentication and forwarding, in order: where a budget check (reject
// when the clone or task has spent its tokens) and a rate-limit wait (hold the request until the provider's
// window has room) plug in. A step may wait, or reject with a status the client sees in its provider's shape.
import type { GatewayGrant, GatewayProvider } from '../domain/index.js';

export interface GatewayRequestInfo {
  grant: GatewayGrant;
  provider: GatewayProvider;
  /** The model the request asks for, when it names one. */
  model: string | null;
  method: string;
  /** The path after the provider prefix. */
  path: string;
  /** Request body size in bytes. */
  bodyBytes: number;
}

export interface GatewayRejection {
  /** 429 for "wait and retry", 402/403 for "over budget"; sent with the provider's error body. */
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/**
 * One step of the request path. Resolves to null to let the request through (after waiting, if it must),
 * or to a rejection. `signal` aborts when the client goes away: a waiting step should stop waiting then.
 */
export type GatewayStep = (request: GatewayRequestInfo, signal: AbortSignal) => Promise<GatewayRejection | null> | GatewayRejection | null;

/** Runs the steps in order; the first rejection wins and later steps do not run. */
export async function runSteps(steps: readonly GatewayStep[], request: GatewayRequestInfo, signal: AbortSignal): Promise<GatewayRejection | null> {
  for (const step of steps) {
    if (signal.aborted) return null;
    const rejection = await step(request, signal);
    if (rejection !== null) return rejection;
  }
  return null;
}
