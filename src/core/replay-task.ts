// What a replay of a recorded task is: the same description, repository and base commit (not the branch's
// tip, which may hold the recorded run's own merge), commands, limits, budget and clones (names, agents,
// models, options, timeouts), with the clones' model traffic answered from the recording. A replay of a
// replay answers from the original recording.
import type { CloneRecord, CloneSpec, MergeStrategy, TaskRecord } from '../domain/index.js';
import { KageError, isTerminalTask } from '../domain/index.js';
import type { NewTask } from '../store/pg-store.js';
import { resolveCommit } from '../workspace/git.js';
import type { CoreContext } from './context.js';
import { PgRecordingStore } from '../store/recording-store.js';

export interface ReplayOptions {
  /** Default: the recorded task's strategy. */
  mergeStrategy?: MergeStrategy | null;
  /** Default: the recorded task's author. */
  createdBy?: string | null;
}

/** The new task's fields (all but its id) and clones; throws when `source` cannot be replayed. */
export async function replayPlan(ctx: CoreContext, source: TaskRecord, clones: readonly CloneRecord[],
  opts: ReplayOptions): Promise<{ task: Omit<NewTask, 'id'>; clones: CloneSpec[] }> {
  if (!isTerminalTask(source.status)) {
    throw new KageError('KAGE_TASK_NOT_FINISHED', `Task ${source.id} is still ${source.status}; replay it when it has finished`, { field: 'id' });
  }
  if (source.replayOf === null && !source.record) {
    throw new KageError('KAGE_NO_RECORDING',
      `Task ${source.id} was not recorded, so there is nothing to replay; run it with \`kage run --record\` (API: "record": true)`, { field: 'id' });
  }
  if (!ctx.config.gateway.enabled) {
    throw new KageError('KAGE_GATEWAY_OFF', 'A replay answers the clones\' model traffic from the recording through the LLM gateway, which is off (KAGE_GATEWAY=off)',
      { field: 'gateway.enabled' });
  }
  const original = source.replayOf ?? source.id;
  const recorded = [...(await new PgRecordingStore(ctx.store.pool).countRecordings(original)).values()].reduce((a, b) => a + b, 0);
  if (recorded === 0 && clones.some((c) => ctx.agents.get(c.agent).provider !== undefined)) {
    throw new KageError('KAGE_NO_RECORDING',
      `Task ${original} has no recorded model exchange left (\`kage clean --recordings\` deletes them), so there is nothing to replay`, { field: 'id' });
  }
  await resolveCommit(source.repo, source.baseCommit);
  return {
    task: {
      description: source.description, repo: source.repo, baseRef: source.baseRef, baseCommit: source.baseCommit,
      checkCommand: source.checkCommand, setupCommand: source.setupCommand, mergeStrategy: opts.mergeStrategy ?? source.mergeStrategy,
      maxRetries: source.maxRetries, retryDelayMs: source.retryDelayMs, checkTimeoutMs: source.checkTimeoutMs,
      createdBy: opts.createdBy ?? source.createdBy, tokenBudget: source.tokenBudget, usdBudget: source.usdBudget, record: false, replayOf: original,
    },
    clones: clones.map((c, i) => ({ name: c.name, agent: ctx.agents.get(c.agent, `clones[${i}].agent`).id, model: c.model,
      timeoutMs: c.timeoutMs, options: c.options })),
  };
}
