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

export type AgentErrorKind = 'api' | 'auth' | 'rate_limit' | 'overloaded' | 'network' | 'budget' | 'unknown';
