// Runs one attempt of one clone: worktree, setup, agent process, leftovers commit, check, then either a
// retry (transient failures only) or the clone's final state. The job handler of the clone queue.
import { join } from 'node:path';
import type { AgentEvent, CloneRecord, CloneStatus, GatewayGrant, GatewayProvider, TaskRecord, Usage } from '../domain/index.js';
import { ZERO_USAGE, isKageError } from '../domain/index.js';
import type { AgentRunInput, ProviderEndpoint, ProviderEndpoints } from '../agents/adapter.js';
import { findCliBinary } from '../agents/cli-binaries.js';
import { runCheck } from '../judge/check-runner.js';
import { retryDelayMs } from '../process/backoff.js';
import { DEFAULT_ENV_ALLOWLIST, buildChildEnv, preparePrivateHome } from '../process/environment.js';
import { classifyFailure, type Failure } from '../process/failure.js';
import { killProcessGroup, runProcess } from '../process/supervisor.js';
import type { CloneJob } from '../queue/clone-queue.js';
import { jobExpirySeconds, type CoreContext, type RunningClone } from './context.js';
import { finalizeTask } from './finalizer.js';
import type { ClonePatch } from '../store/pg-store.js';
import { summarizeAgentEvent } from './event-summary.js';
import { flightOf } from './flight.js';
import { modelAccess } from './model-access.js';

const LIVE_STATES: readonly CloneStatus[] = ['preparing', 'running'];

export function childEnv(ctx: CoreContext, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return buildChildEnv({
    base: ctx.config.env,
    allow: [...DEFAULT_ENV_ALLOWLIST, ...ctx.config.envAllowlist],
    home,
    extra,
  });
}

export function cloneHome(ctx: CoreContext, cloneId: string): string {
  return join(ctx.config.home, 'homes', cloneId);
}

export async function runCloneJob(ctx: CoreContext, job: CloneJob): Promise<void> {
  const [clone, task] = await Promise.all([ctx.store.claimClone(job.cloneId, job.attempt, ctx.workerId), ctx.store.getTask(job.taskId)]);
  if (!clone || !task) return; // stale job: cancelled, already running elsewhere, or superseded by a later attempt
  const running: RunningClone = { taskId: task.id, controller: new AbortController(), stopReason: null };
  ctx.running.set(clone.id, running);
  let cleanup: Promise<void> = Promise.resolve();
  try {
    ({ cleanup } = await runAttempt(ctx, task, clone, running));
  } catch (err) {
    ctx.log.error({ err, clone: clone.id }, 'clone attempt failed unexpectedly');
    const message = isKageError(err) ? err.message : `Internal error: ${(err as Error).message}`;
    await ctx.store.updateClone(clone.id, { status: 'failed', error: message, finishedAt: new Date() }, LIVE_STATES);
    ctx.events.emit(task.id, clone.id, 'clone_finished', { name: clone.name, status: 'failed', error: message });
    if (clone.worktree || (await ctx.store.getClone(clone.id))?.worktree) await removeWorktree(ctx, task, clone.id);
  } finally {
    ctx.running.delete(clone.id);
    // Store now rather than after the batching delay; order with the finalizer's events is kept regardless.
    void ctx.events.flush();
  }
  // Judging starts while the worktree is being removed; the task ends once it is gone.
  await Promise.all([finalizeTask(ctx, task.id, cleanup), cleanup]);
}

/** Runs the attempt; resolves once the clone's state is stored, with the removal of its worktree (if any) still going on. */
async function runAttempt(ctx: CoreContext, task: TaskRecord, clone: CloneRecord, running: RunningClone): Promise<{ cleanup: Promise<void> }> {
  const { store, events } = ctx;
  events.emit(task.id, clone.id, 'clone_started', { name: clone.name, agent: clone.agent, attempt: clone.attempt + 1 });
  const adapter = ctx.agents.get(clone.agent);
  const worktree = await ctx.worktrees.add({ repo: task.repo, taskId: task.id, cloneName: clone.name, baseCommit: task.baseCommit });
  // Recorded before setup runs (setup may take minutes) so recovery and `kage status` know where it is.
  if (task.setupCommand) await store.updateClone(clone.id, { worktree: worktree.path, lastEvent: 'running setup' });
  const home = cloneHome(ctx, clone.id);

  let failure: Failure | null = null;
  let usage: Usage = { ...ZERO_USAGE };
  let costUsd = 0;
  let durationMs = 0;
  let exit: { exitCode: number | null; exitSignal: string | null } = { exitCode: null, exitSignal: null };
  /** What the setup command created (node_modules, build output) is not the agent's work: never committed. */
  let setupPaths: string[] = [];

  if (task.setupCommand) {
    events.emit(task.id, clone.id, 'setup_started', { command: task.setupCommand });
    const setup = await runCheck({ command: task.setupCommand, cwd: worktree.path, env: childEnv(ctx, home),
      timeoutMs: task.checkTimeoutMs, killGraceMs: ctx.config.killGraceMs, signal: running.controller.signal });
    setupPaths = await ctx.worktrees.untrackedPaths(worktree.path);
    events.emit(task.id, clone.id, 'setup_finished', { status: setup.status, exitCode: setup.exitCode, output: setup.output.slice(-2000) });
    if (setup.status !== 'passed') {
      failure = running.controller.signal.aborted
        ? { kind: 'cancelled', transient: false, message: 'Cancelled' }
        : { kind: 'exit_error', transient: false, message: `Setup command ${setup.status} (exit ${setup.exitCode}): ${setup.output.slice(-300)}` };
    }
  }

  if (!failure) {
    const agentConfig = ctx.config.agents[adapter.id] ?? {};
    const env = childEnv(ctx, home, agentConfig.env ?? {});
    // With the gateway on, the agent gets the gateway's URLs and a token of its own as every key (or in
    // passthrough, in its URLs' path beside its own key or login): kage's real keys never reach its
    // environment or HOME, and its model traffic is metered and limited per clone.
    const access = await modelAccess(ctx, adapter, { taskId: task.id, cloneId: clone.id, flight: flightOf(task, clone, worktree.path, home) }, home);
    let marked: Promise<unknown> = Promise.resolve();
    try {
      const input: AgentRunInput = {
        prompt: task.description,
        model: clone.model ?? agentConfig.model ?? null,
        worktree: worktree.path,
        home,
        resumeSessionId: adapter.supportsResume && clone.attempt > 0 ? clone.sessionId : null,
        options: { ...(agentConfig.options ?? {}), ...(agentConfig.bin ? { bin: agentConfig.bin } : {}),
          ...(agentConfig.args ? { args: agentConfig.args } : {}), ...clone.options },
        env,
        providers: access.providers,
        logins: access.logins,
        binary: adapter.cli === undefined ? null
          : findCliBinary(adapter.cli, { configured: agentConfig.bin ?? null, pathEnv: env.PATH, agentsDir: ctx.config.agentsDir })?.path ?? null,
      };
      const command = adapter.buildCommand(input);
      await preparePrivateHome(home, command.homeFiles);
      // Stored while the agent starts; awaited before anything else is stored about the clone.
      marked = store.updateClone(clone.id, { status: 'running', worktree: worktree.path, lastEvent: 'agent starting' }, LIVE_STATES);
      events.emit(task.id, clone.id, 'clone_status', { name: clone.name, status: 'running' });

      const parser = adapter.createParser();
      const agentEvents: AgentEvent[] = [];
      let lastSummary: string | null = null;
      let lastSummaryWrite = 0;
      const onEvents = (list: AgentEvent[]): void => {
        for (const e of access.scrub(list)) {
          agentEvents.push(e);
          if (e.kind === 'usage') {
            usage = e.cumulative ? { ...e.usage } : addUsage(usage, e.usage);
            if (e.costUsd !== null) costUsd = e.cumulative ? e.costUsd : costUsd + e.costUsd;
          }
          if (e.kind === 'session') void store.updateClone(clone.id, { sessionId: e.sessionId });
          events.emit(task.id, clone.id, `agent_${e.kind}`, { name: clone.name, ...eventPayload(e) });
          lastSummary = summarizeAgentEvent(e) ?? lastSummary;
        }
        // The latest event is shown by `kage status` from other processes; a few writes a second are plenty.
        if (lastSummary && Date.now() - lastSummaryWrite > 250) {
          lastSummaryWrite = Date.now();
          void store.updateClone(clone.id, { lastEvent: lastSummary });
        }
      };
      const result = await runProcess({
        argv: command.argv,
        cwd: worktree.path,
        env: { ...env, ...command.env },
        stdin: command.stdin,
        timeoutMs: clone.timeoutMs,
        killGraceMs: ctx.config.killGraceMs,
        signal: running.controller.signal,
        onSpawn: (pid) => {
          void store.updateClone(clone.id, { pid });
          events.emit(task.id, clone.id, 'agent_spawned', { name: clone.name, pid, argv0: command.argv[0] });
        },
        onLine: (line, stream) => onEvents(parser.line(line, stream)),
      });
      // Whatever the agent left running in its group (a dev server, a watcher) ends with it.
      if (result.pid) killProcessGroup(result.pid, 'SIGKILL');
      onEvents(parser.end());
      durationMs = result.durationMs;
      exit = { exitCode: result.exitCode, exitSignal: result.signal };
      failure = access.scrub(classifyFailure(result, agentEvents, { requireResultEvent: true }));
      if (failure.kind === 'none' && result.exitCode !== 0) {
        failure = { kind: 'exit_error', transient: false, message: `Exited with code ${result.exitCode}: ${access.scrub(result.stderrTail).slice(-300)}` };
      }
      // A gateway in another process stops the clone through a NOTIFY, a hint that may be lost or late: its
      // record of a budget refusal decides when the attempt failed with no stop received.
      const refusal = running.stopReason === null && failure.kind !== 'none'
        ? await ctx.gateway?.budgetRefusal?.({ taskId: task.id, cloneId: clone.id }).catch(() => null) ?? null : null;
      if (refusal !== null) {
        running.stopReason = 'budget';
        running.stopMessage = refusal;
      }
      // Whether the CLI gave up on the gateway's refusal by itself or was stopped, the budget is why it ended.
      if (running.stopReason === 'budget') failure = { kind: 'budget', transient: false, message: running.stopMessage ?? 'Budget exhausted' };
    } finally {
      await Promise.all([access.release(), marked]);
    }
  }

  // Whatever the agent left, succeeded or not, is kept on the clone's branch.
  const { head, diff } = await ctx.worktrees.commitAndDiff(worktree.path,
    `kage: ${clone.name} attempt ${clone.attempt + 1}\n\n${firstLine(task.description)}`, task.baseCommit, setupPaths,
    { repo: task.repo, branch: worktree.branch });
  const outcome: ClonePatch = { ...exit, usage, costUsd, durationMs, diff, headCommit: head, pid: null };

  if (running.stopReason === 'shutdown') {
    // This process is stopping: hand the clone back to the queue without using up a retry.
    await requeue(ctx, task, clone, outcome, { countsAsRetry: false, reason: 'worker stopped; attempt handed back', delayMs: 0 });
    await store.releaseTask(task.id);
    return { cleanup: Promise.resolve() };
  }
  const cancelled = running.stopReason === 'cancel' || failure?.kind === 'cancelled';
  if (!cancelled && failure && failure.kind !== 'none' && failure.transient && clone.retries < task.maxRetries) {
    await requeue(ctx, task, clone, outcome, {
      countsAsRetry: true,
      reason: failure.message ?? failure.kind,
      delayMs: retryDelayMs(task.retryDelayMs, clone.retries),
    });
    return { cleanup: Promise.resolve() };
  }

  const status: CloneStatus = cancelled ? 'cancelled' : finalStatus(failure);
  let check: { checkStatus: CloneRecord['checkStatus']; checkOutput: string | null } = { checkStatus: null, checkOutput: null };
  if (task.checkCommand) {
    check = { checkStatus: 'skipped', checkOutput: null };
    if (status === 'succeeded') {
      await store.updateClone(clone.id, { lastEvent: 'running check' });
      events.emit(task.id, clone.id, 'check_started', { name: clone.name, command: task.checkCommand });
      const result = await runCheck({ command: task.checkCommand, cwd: worktree.path, env: childEnv(ctx, home),
        timeoutMs: task.checkTimeoutMs, killGraceMs: ctx.config.killGraceMs, signal: running.controller.signal });
      check = { checkStatus: result.status, checkOutput: result.output };
      events.emit(task.id, clone.id, 'check_finished', { name: clone.name, status: result.status, exitCode: result.exitCode,
        durationMs: result.durationMs, output: result.output.slice(-2000) });
    }
  }
  const error = status === 'succeeded' ? null : failure?.message ?? (cancelled ? 'Cancelled' : null);
  const final: ClonePatch = { ...outcome, ...check, worktree: null, lastEvent: status === 'succeeded' ? 'finished' : error ?? status };
  const removal = removeWorktree(ctx, task, clone.id, worktree.path, false);
  const moved = await store.updateClone(clone.id, { ...final, status, error, finishedAt: new Date() }, LIVE_STATES);
  // A cancel already set the clone's state; its results are still recorded.
  if (!moved) await store.updateClone(clone.id, final);
  // The gateway's metered sums over every attempt when it metered the clone, else the agent's own report
  // (an agent without model traffic, or with the gateway off, has only the latter: no read for it).
  const metered = ctx.gateway !== null && adapter.provider !== undefined ? await store.getClone(clone.id).catch(() => null) : null;
  const figures = metered?.usageSource === 'gateway' ? { tokens: metered.usage, costUsd: metered.costUsd, usageSource: 'gateway' }
    : { tokens: usage, costUsd, usageSource: 'agent' };
  events.emit(task.id, clone.id, 'clone_finished', {
    name: clone.name, status, error, exitCode: exit.exitCode, files: diff.files.length, insertions: diff.insertions,
    deletions: diff.deletions, ...figures, durationMs, checkStatus: check.checkStatus,
  });
  return { cleanup: removal };
}

/** How long a clone whose budget is spent may take to show the gateway's error and exit before it is stopped. */
export const BUDGET_STOP_GRACE_MS = 3000;

/**
 * Called when the gateway first refuses a clone's request for its budget: the clone ends `budget_exceeded`
 * with its work so far committed. The CLI gets the grace to print the error and exit on its own (most give
 * up on a 402); one that retries or carries on is stopped like a cancelled one.
 */
export function stopCloneOverBudget(ctx: CoreContext, cloneId: string, message: string): void {
  const running = ctx.running.get(cloneId);
  if (running === undefined || running.stopReason !== null) return;
  running.stopReason = 'budget';
  running.stopMessage = message;
  setTimeout(() => {
    if (ctx.running.get(cloneId) === running) running.controller.abort();
  }, BUDGET_STOP_GRACE_MS).unref();
}

async function requeue(ctx: CoreContext, task: TaskRecord, clone: CloneRecord, outcome: ClonePatch,
  opts: { countsAsRetry: boolean; reason: string; delayMs: number }): Promise<void> {
  const attempt = clone.attempt + 1;
  const moved = await ctx.store.updateClone(clone.id, {
    ...outcome,
    status: opts.countsAsRetry ? 'retrying' : 'queued',
    attempt,
    retries: clone.retries + (opts.countsAsRetry ? 1 : 0),
    error: opts.reason,
    workerId: null,
    lastEvent: opts.countsAsRetry ? `retrying in ${Math.round(opts.delayMs / 1000)}s: ${opts.reason}` : opts.reason,
  }, LIVE_STATES);
  if (!moved) return;
  ctx.events.emit(task.id, clone.id, 'clone_retry', { name: clone.name, attempt: attempt + 1, delayMs: opts.delayMs,
    reason: opts.reason, countsAsRetry: opts.countsAsRetry });
  await ctx.queue.enqueue({ taskId: task.id, cloneId: clone.id, attempt },
    { delayMs: opts.delayMs, expireInSeconds: jobExpirySeconds(clone.timeoutMs, task.checkTimeoutMs) });
}

/** Removes a clone's worktree; `record: false` when the caller stores `worktree: null` itself. */
export async function removeWorktree(ctx: CoreContext, task: TaskRecord, cloneId: string, path?: string,
  record = true): Promise<void> {
  const target = path ?? (await ctx.store.getClone(cloneId))?.worktree;
  if (!target) return;
  try {
    await ctx.worktrees.remove(task.repo, target);
    if (record) await ctx.store.updateClone(cloneId, { worktree: null });
  } catch (err) {
    ctx.log.warn({ err, worktree: target }, 'could not remove worktree; the next start sweeps it');
  }
}

function finalStatus(failure: Failure | null): CloneStatus {
  if (!failure || failure.kind === 'none') return 'succeeded';
  if (failure.kind === 'timeout') return 'timeout';
  if (failure.kind === 'budget') return 'budget_exceeded';
  if (failure.kind === 'cancelled') return 'cancelled';
  return 'failed';
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

function eventPayload(e: AgentEvent): Record<string, unknown> {
  const { kind: _kind, ...rest } = e;
  return rest as Record<string, unknown>;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 72 ? `${line.slice(0, 69)}...` : line;
}
