// What the gateway's flight recorder does with a clone's model traffic, from its task: record it (a task
// with `record`), answer it from a recording (a replay, `replayOf`), or neither.
import type { CloneRecord, FlightGrant, GatewayGrant, TaskRecord } from '../domain/index.js';
import { KageError } from '../domain/index.js';
import type { CoreContext } from './context.js';

/** The flight part of the clone's gateway grant; null when its task neither records nor replays. */
export function flightOf(task: TaskRecord, clone: CloneRecord, workdir: string, home: string): FlightGrant | null {
  const common = { cloneName: clone.name, attempt: clone.attempt, workdir, home };
  if (task.replayOf !== null) return { mode: 'replay', sourceTaskId: task.replayOf, ...common };
  if (task.record) return { mode: 'record', sourceTaskId: null, ...common };
  return null;
}

/**
 * A clone with model traffic is about to run without the gateway. A replay must not: its agent would reach
 * the real provider instead of the recording. A recording goes on, unrecorded, and says so in an event.
 */
export function withoutGateway(ctx: CoreContext, grant: GatewayGrant): void {
  const flight = grant.flight;
  if (!flight) return;
  if (flight.mode === 'replay') {
    throw new KageError('KAGE_GATEWAY_OFF',
      `Clone ${flight.cloneName} replays the recording of task ${flight.sourceTaskId}, which needs the LLM gateway; it is off here (KAGE_GATEWAY=off)`,
      { field: 'gateway.enabled' });
  }
  ctx.events.emit(grant.taskId, grant.cloneId, 'flight_recorder_off', { name: flight.cloneName,
    reason: 'the LLM gateway is off in the process running the clone; its model traffic is not recorded' });
}
