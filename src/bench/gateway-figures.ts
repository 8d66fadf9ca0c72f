// Pure figures of the gateway part: the summaries of each side and what the gateway adds to them.
import { round, summarize, type Summary } from './stats.js';

/** One streamed request's timings, from `http.request` to each point (ms). */
export interface RequestTiming {
  /** The response's status line and headers arrived. */
  headersMs: number;
  /** The first chunk of the body arrived: TTFB as a streaming client sees it. */
  firstByteMs: number;
  /** The body ended. */
  totalMs: number;
}

export interface SideFigures {
  total_ms: Summary;
  headers_ms: Summary;
  ttfb_ms: Summary;
}

export interface ProtocolFigures {
  direct: SideFigures;
  gateway: SideFigures;
  /** Gateway minus direct, per quantile of the total time. */
  added_ms_p50: number;
  added_ms_p99: number;
  /** Gateway minus direct, per quantile of the time to the first body chunk. */
  added_ttfb_ms_p50: number;
  added_ttfb_ms_p99: number;
  pass: boolean;
}

export const GATEWAY_TARGETS = { added_ms_p50_max: 2 };

/** Which side goes first in round `i`: alternating, so neither always runs on a connection just used by the other. */
export function sidesInOrder(i: number): readonly ['direct' | 'gateway', 'direct' | 'gateway'] {
  return i % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
}

function side(timings: readonly RequestTiming[]): SideFigures {
  return {
    total_ms: summarize(timings.map((t) => t.totalMs), 3),
    headers_ms: summarize(timings.map((t) => t.headersMs), 3),
    ttfb_ms: summarize(timings.map((t) => t.firstByteMs), 3),
  };
}

/** Null when either side has no successful request: there is nothing to compare. */
export function protocolFigures(direct: readonly RequestTiming[], gateway: readonly RequestTiming[]): ProtocolFigures | null {
  if (direct.length === 0 || gateway.length === 0) return null;
  const d = side(direct);
  const g = side(gateway);
  const added = (a: number, b: number) => round(a - b, 3);
  const addedP50 = added(g.total_ms.p50, d.total_ms.p50);
  return {
    direct: d,
    gateway: g,
    added_ms_p50: addedP50,
    added_ms_p99: added(g.total_ms.p99, d.total_ms.p99),
    added_ttfb_ms_p50: added(g.ttfb_ms.p50, d.ttfb_ms.p50),
    added_ttfb_ms_p99: added(g.ttfb_ms.p99, d.ttfb_ms.p99),
    pass: addedP50 <= GATEWAY_TARGETS.added_ms_p50_max,
  };
}
