// The flight recorder's vocabulary: what a clone's gateway token says about recording or replaying its
// model traffic, and one recorded request/response pair.
import type { GatewayProvider } from './gateway.js';

/** What the gateway does with a clone's model traffic besides metering it. */
export type FlightMode =
  /** Forward it as usual and store every exchange, so the run can be replayed. */
  | 'record'
  /** Forward nothing: answer each request from the recording of the clone of the same name in `sourceTaskId`. */
  | 'replay';

/** Carried by a gateway grant of a recording or replaying task's clone. */
export interface FlightGrant {
  mode: FlightMode;
  /** A replay finds the recorded clone by name: the replaying task's clones have new ids. */
  cloneName: string;
  /** The clone's attempt (0-based): a replayed attempt is answered from the same attempt's exchanges. */
  attempt: number;
  /**
   * The clone's worktree and private HOME in this run. Stored with each recorded exchange; a replay puts its
   * own in their place in the recorded answers, so a tool call with an absolute path lands in the new worktree.
   */
  workdir: string | null;
  home: string | null;
  /** The recorded task a replay answers from; null when recording. */
  sourceTaskId: string | null;
}

/** A recorded request, as a replay matches against it. */
export interface RecordedRequest {
  /** The row id, for reading its answer. */
  id: string;
  /** Order of arrival among the clone's exchanges. */
  seq: number;
  provider: GatewayProvider;
  method: string;
  /** After the provider prefix, with the query string (a `key` parameter redacted). */
  path: string;
  /** Credentials redacted. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The recorded run's worktree and HOME (see FlightGrant). */
  workdir: string | null;
  home: string | null;
}

/** A recorded answer, as a replay sends it. */
export interface RecordedResponse {
  /** Null when the client went away before any answer. */
  status: number | null;
  headers: Record<string, string | string[]>;
  /** The bytes the client got, up to the recorder's cap. */
  body: Buffer;
  /** Sizes of the chunks as they passed; they add up to `body.length`. */
  chunkSizes: number[];
  /** When each chunk passed, in ms after the answer's headers. */
  chunkOffsetsMs: number[];
  /** The answer's full size; larger than `body.length` when `truncated`. */
  bytes: number;
  truncated: boolean;
  /** The answer reached its end; false when the upstream broke off or the client went away. */
  complete: boolean;
  stream: boolean;
  /** Why the exchange did not complete normally (upstream broke off, client went away, ...). */
  error: string | null;
}

/** One request/response pair through the gateway, as the flight recorder stores it. */
export interface RecordedExchange extends Omit<RecordedRequest, 'id'>, Omit<RecordedResponse, 'headers' | 'body'> {
  taskId: string;
  cloneId: string | null;
  cloneName: string;
  attempt: number;
  responseHeaders: Record<string, string | string[]>;
  responseBody: Buffer;
  startedAt: Date;
  durationMs: number;
}
