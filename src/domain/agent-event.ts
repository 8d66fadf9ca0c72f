// Normalized events every agent adapter produces from its CLI's output lines.
import type { Usage } from './task.js';

export type AgentEvent =
  /** The agent's session id, for resume. */
  | { kind: 'session'; sessionId: string; model?: string }
  /** Text the agent said. */
  | { kind: 'message'; text: string }
  /** The agent called one of its tools. */
  | { kind: 'tool_use'; id: string; name: string; input: unknown }
  /** A tool's answer. */
  | { kind: 'tool_result'; id: string; output: string; isError: boolean }
  /**
   * Token usage. `cumulative: true` means the numbers are the run's totals so far (replace);
   * false means they are one request's numbers (add).
   */
  | { kind: 'usage'; usage: Usage; costUsd: number | null; cumulative: boolean }
  /** An error the agent reported (API error, auth, ...). `status` is the HTTP status when known. */
  | { kind: 'error'; message: string; status: number | null; errorKind: AgentErrorKind }
  /** The agent's own final verdict on the run. */
  | { kind: 'result'; ok: boolean; text: string; numTurns: number | null; durationMs: number | null };

export type AgentErrorKind =
  /** The API answered with an error status (see `status`). */
  | 'api'
  /** Credentials missing or refused. */
  | 'auth'
  /** The API rate-limited the request. */
  | 'rate_limit'
  /** The API was overloaded (529, 503). */
  | 'overloaded'
  /** The request got no complete answer (reset, timeout, a CLI that does not say why): may pass next time. */
  | 'network'
  /** Nothing listens at the endpoint (connection refused, unknown host): no model server is running. */
  | 'unreachable'
  /** The agent's own budget (tokens, turns) ran out. */
  | 'budget'
  /** Anything else: it colours the failure message but does not decide the failure's kind. */
  | 'unknown';
