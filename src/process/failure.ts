// Decides what a finished agent run means: which failure it was, and whether retrying can help.
import type { AgentEvent } from '../domain/index.js';
import type { ProcessResult } from './supervisor.js';

export type FailureKind =
  /** The run succeeded. */
  | 'none'
  /** Killed after its wall-clock timeout. */
  | 'timeout'
  /** Killed because it was cancelled. */
  | 'cancelled'
  /** The executable could not be started (ENOENT, EACCES, missing working directory). */
  | 'spawn_error'
  /** The model API answered with an error status. */
  | 'api_error'
  /** Credentials missing or refused. */
  | 'auth'
  /** The API rate-limited the run. */
  | 'rate_limit'
  /** The API was overloaded. */
  | 'overloaded'
  /** The request to the API got no complete answer; another attempt may get through. */
  | 'network'
  /** Nothing listens at the API's address: retrying a server that is not running only delays the answer. */
  | 'unreachable'
  /** Died from a signal we did not send, or ended without the result it must report. */
  | 'crash'
  /** The agent itself reported failure, or a plain command exited non-zero. */
  | 'exit_error'
  /** The agent's own budget ran out. */
  | 'budget';

export interface Failure {
  kind: FailureKind;
  /** Whether another attempt may succeed (the caller still bounds retries). */
  transient: boolean;
  /** Human-readable; null when nothing failed. */
  message: string | null;
}

const MESSAGE_MAX_CHARS = 500;

export function classifyFailure(
  result: ProcessResult,
  events: readonly AgentEvent[],
  opts: { requireResultEvent: boolean },
): Failure {
  if (result.cancelled) return { kind: 'cancelled', transient: false, message: 'Cancelled' };
  if (result.timedOut) {
    return { kind: 'timeout', transient: false, message: `Timed out after ${formatSeconds(result.durationMs)}` };
  }
  if (result.spawnError !== null) {
    return { kind: 'spawn_error', transient: false, message: `Could not start the process: ${result.spawnError}` };
  }

  const outcome = lastOf(events, 'result');
  const cleanExit = result.exitCode === 0 && result.signal === null;
  // The final verdict wins over errors the agent reported and then recovered from (a retried 529).
  if (cleanExit && outcome?.ok === true) return success();

  const error = lastDecisiveError(events);
  if (error !== undefined) return fromErrorEvent(error, result);
  if (cleanExit && outcome === undefined && !opts.requireResultEvent) {
    const unknownError = lastOf(events, 'error');
    if (unknownError === undefined) return success();
    return { kind: 'exit_error', transient: false, message: shorten(unknownError.message) };
  }

  if (result.signal !== null) {
    return { kind: 'crash', transient: true, message: withStderr(`Killed by ${result.signal}`, result) };
  }
  if (outcome !== undefined) {
    if (!outcome.ok) {
      const text = outcome.text.trim();
      return { kind: 'exit_error', transient: false, message: text ? shorten(text) : withStderr(exitText(result), result) };
    }
    return { kind: 'exit_error', transient: false, message: withStderr(`${exitText(result)} after reporting success`, result) };
  }
  if (opts.requireResultEvent) {
    const what = result.exitCode === 0 ? 'Exited without reporting a result' : `${exitText(result)} without reporting a result`;
    return { kind: 'crash', transient: true, message: withStderr(what, result) };
  }
  return { kind: 'exit_error', transient: false, message: withStderr(exitText(result), result) };
}

type ErrorEvent = Extract<AgentEvent, { kind: 'error' }>;

/** The last error that says what went wrong; `unknown` errors only colour the message. */
function lastDecisiveError(events: readonly AgentEvent[]): ErrorEvent | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    if (event?.kind === 'error' && event.errorKind !== 'unknown') return event;
  }
  return undefined;
}

function fromErrorEvent(error: ErrorEvent, result: ProcessResult): Failure {
  const message = shorten(error.message.trim()) || withStderr(`Agent reported a ${error.errorKind} error`, result);
  switch (error.errorKind) {
    case 'rate_limit':
    case 'overloaded':
    case 'network':
      return { kind: error.errorKind, transient: true, message };
    case 'auth':
      return { kind: 'auth', transient: false, message };
    case 'unreachable':
      return { kind: 'unreachable', transient: false, message };
    case 'budget':
      return { kind: 'budget', transient: false, message };
    default:
      return fromApiStatus(error.status, message);
  }
}

function fromApiStatus(status: number | null, message: string): Failure {
  if (status === 429) return { kind: 'rate_limit', transient: true, message };
  if (status === 401 || status === 403) return { kind: 'auth', transient: false, message };
  // A request timeout is the server's trouble, like a 5xx. Without a status we cannot tell; retries are bounded.
  const transient = status === null || status === 408 || status >= 500;
  return { kind: 'api_error', transient, message };
}

function lastOf<K extends AgentEvent['kind']>(events: readonly AgentEvent[], kind: K): Extract<AgentEvent, { kind: K }> | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    if (event?.kind === kind) return event as Extract<AgentEvent, { kind: K }>;
  }
  return undefined;
}

function success(): Failure {
  return { kind: 'none', transient: false, message: null };
}

function exitText(result: ProcessResult): string {
  return result.exitCode === null ? 'Exited without an exit code' : `Exited with code ${result.exitCode}`;
}

function withStderr(text: string, result: ProcessResult): string {
  const tail = result.stderrTail.trim();
  return tail ? `${text}: ${shortenTail(tail)}` : text;
}

function shorten(text: string): string {
  return text.length <= MESSAGE_MAX_CHARS ? text : `${text.slice(0, MESSAGE_MAX_CHARS - 1)}…`;
}

/** Keeps the end of a long stderr: its last lines name the error. */
function shortenTail(text: string): string {
  return text.length <= MESSAGE_MAX_CHARS ? text : `…${text.slice(text.length - MESSAGE_MAX_CHARS + 1)}`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
