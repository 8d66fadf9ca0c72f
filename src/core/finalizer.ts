// Ends a task once every clone is terminal: ranks the clones (the judge) and applies the merge strategy.
// Exactly one process finalizes a task: `beginJudging` is a conditional update only one caller wins.
import { join } from 'node:path';
import type { CloneRecord, MergeStrategy, TaskRecord, TaskStatus } from '../domain/index.js';
import { rankClones, type RankedClone } from '../judge/ranking.js';
import { findConflictsMany } from '../merge/conflicts.js';
import { mergeClone, type MergeResult } from '../merge/merge.js';
import { badRefError, deleteBranch } from '../workspace/git.js';
import { quickResolver } from '../workspace/repo-heads.js';
import { mergedBranch } from './branches.js';
import type { CoreContext } from './context.js';

/** `before`: work of the task still going on (a worktree being removed) that must end before the task does. */
export async function finalizeTask(ctx: CoreContext, taskId: string, before: Promise<void> = Promise.resolve()): Promise<void> {
  const task = await ctx.store.beginJudging(taskId);
  if (!task) return;
  try {
    await judgeAndMerge(ctx, task, before);
  } catch (err) {
    ctx.log.error({ err, task: task.id }, 'finalizing the task failed');
    await ctx.store.updateTask(task.id, { status: 'failed', error: `Judging or merging failed: ${(err as Error).message}`,
      completedAt: new Date() }, ['judging', 'merging']);
    ctx.events.emit(task.id, null, 'task_finished', { status: 'failed', error: (err as Error).message });
  }
  await ctx.events.flush();
}

async function judgeAndMerge(ctx: CoreContext, task: TaskRecord, before: Promise<void>): Promise<void> {
  const { store, events } = ctx;
  events.emit(task.id, null, 'judging_started', {});
  const clones = await store.getClones(task.id);
  const ranked = rankClones(clones.map((c) => ({
    name: c.name,
    status: c.status,
    checkStatus: task.checkCommand ? c.checkStatus ?? 'skipped' : null,
    filesChanged: c.diff?.files.length ?? 0,
    linesChanged: (c.diff?.insertions ?? 0) + (c.diff?.deletions ?? 0),
    costUsd: c.costUsd,
    durationMs: c.durationMs ?? 0,
  })));
  const best = ranked[0]?.eligible ? ranked[0] : null;
  await Promise.all([
    store.saveRanking(task.id, ranked),
    store.updateTask(task.id, { bestClone: best?.name ?? null, status: 'merging' }, ['judging']),
  ]);
  events.emit(task.id, null, 'judge_result', {
    best: best?.name ?? null,
    ranking: ranked.map((r) => ({ name: r.name, rank: r.rank, score: r.score, eligible: r.eligible, reason: r.reason })),
  });

  // The merge checks the best clone against the base itself; the report covers the others meanwhile, all
  // of it with one git process.
  const mergesBest = best !== null && task.mergeStrategy !== 'manual';
  const changed = clones.filter((c) => c.diff && c.diff.files.length > 0 && c.headCommit);
  const againstBase = changed.filter((c) => !(mergesBest && c.name === best?.name));
  // Read before the merge can move the branch; a one-clone task needs no report against the base.
  const baseTip = againstBase.length > 0 ? await branchTip(ctx, task) : null;
  const [report, outcome] = await Promise.all([
    conflictReport(task, changed, againstBase, baseTip, best?.name ?? null),
    decideMerge(ctx, task, clones, best, ranked),
  ]);
  if (mergesBest && best && outcome.checkedAgainstBase) report.vsBase[best.name] = outcome.patch.conflicts;
  events.emit(task.id, null, 'conflict_report', report);

  events.emit(task.id, null, 'merge_result', { ...outcome.patch, strategy: task.mergeStrategy });
  const winner = outcome.patch.mergeStatus === 'merged' && !outcome.branchDeleted ? clones.find((c) => c.name === best?.name) : undefined;
  // Whoever sees the task terminal finds every event before `task_finished` stored already.
  await Promise.all([
    events.flush(),
    // Merged into the base, the winner's branch has nothing left to offer (the merge deleted it, usually).
    winner ? deleteBranch(task.repo, winner.branch).catch(() => false) : undefined,
    before,
  ]);
  await store.updateTask(task.id, { ...outcome.patch, status: outcome.status, completedAt: new Date() }, ['merging']);
  events.emit(task.id, null, 'task_finished', { status: outcome.status, best: best?.name ?? null });
}

interface MergeDecision {
  status: TaskStatus;
  /** The merge ran `git merge-tree` of the best clone against the base (its conflicts are in the patch). */
  checkedAgainstBase?: boolean;
  /** The merge deleted the best clone's branch. */
  branchDeleted?: boolean;
  patch: {
    mergeStatus: TaskRecord['mergeStatus'];
    mergeCommit: string | null;
    mergeBranch: string | null;
    mergeMessage: string;
    conflicts: string[];
    error?: string | null;
  };
}

async function decideMerge(ctx: CoreContext, task: TaskRecord, clones: CloneRecord[], best: RankedClone | null,
  ranked: RankedClone[]): Promise<MergeDecision> {
  const none = (status: TaskStatus, message: string, error: string | null = null): MergeDecision => ({
    status, patch: { mergeStatus: status === 'needs_review' && task.mergeStrategy === 'manual' ? 'manual' : 'nothing_to_merge',
      mergeCommit: null, mergeBranch: null, mergeMessage: message, conflicts: [], error },
  });
  if (!best) {
    const anySucceeded = clones.some((c) => c.status === 'succeeded');
    return anySucceeded
      ? none('needs_review', 'No clone passed the check; nothing merged.', 'No clone passed the check')
      : none('failed', 'No clone succeeded; nothing merged.', `No clone succeeded (${ranked.map((r) => r.reason).join('; ')})`);
  }
  const winner = clones.find((c) => c.name === best.name)!;
  if (!winner.diff || winner.diff.files.length === 0) {
    return none('completed', `The best clone (${winner.name}) changed nothing; nothing to merge.`);
  }
  if (task.mergeStrategy === 'manual') {
    return {
      status: 'needs_review',
      patch: { mergeStatus: 'manual', mergeCommit: null, mergeBranch: winner.branch, conflicts: [],
        mergeMessage: `Strategy manual: nothing merged. Review with \`kage diff ${task.id.slice(0, 8)} ${winner.name}\`, then \`kage merge ${task.id.slice(0, 8)} --clone <name>\`.` },
    };
  }
  const result = await mergeInto(ctx, task, winner, task.mergeStrategy, { deleteMergedBranch: true });
  return { status: mergeTaskStatus(result), patch: mergePatch(result), checkedAgainstBase: result.status !== 'failed',
    branchDeleted: result.branchDeleted === true };
}

export function mergeTaskStatus(result: MergeResult): TaskStatus {
  if (result.status === 'conflicts') return 'needs_review';
  if (result.status === 'failed') return 'failed';
  return 'completed';
}

export function mergePatch(result: MergeResult): MergeDecision['patch'] {
  return {
    mergeStatus: result.status,
    mergeCommit: result.commit,
    mergeBranch: result.branch,
    mergeMessage: result.message,
    conflicts: result.conflicts,
    ...(result.status === 'failed' ? { error: result.message } : {}),
  };
}

/** Merges one clone's branch into the task's base branch. */
export async function mergeInto(ctx: CoreContext, task: TaskRecord, clone: CloneRecord,
  strategy: Exclude<MergeStrategy, 'manual'>, opts: { deleteMergedBranch?: boolean } = {}): Promise<MergeResult> {
  const result = await mergeClone({
    repo: task.repo,
    baseBranch: task.baseRef,
    baseCommit: task.baseCommit,
    cloneBranch: clone.branch,
    strategy,
    message: `kage: merge ${clone.name} (${clone.agent}) for task ${task.id.slice(0, 8)}\n\n${task.description.slice(0, 2000)}`,
    resultBranch: mergedBranch(task.id),
    tmpRoot: join(ctx.config.home, 'tmp'),
    lockRoot: ctx.worktrees.root,
    resolve: quickResolver(ctx.repos),
    deleteMergedBranch: opts.deleteMergedBranch ?? false,
  });
  return result;
}

/** The base branch's commit now; KAGE_BAD_REF when it is gone. */
async function branchTip(ctx: CoreContext, task: TaskRecord): Promise<string> {
  const ref = `refs/heads/${task.baseRef}`;
  const [tip] = await quickResolver(ctx.repos)(task.repo, [{ name: ref, kind: 'commit' }]);
  if (!tip) throw badRefError(task.repo, ref);
  return tip;
}

/**
 * Conflicts of `againstBase` with the base tip, and between changed clones: every pair under `manual` (the
 * user chooses), otherwise the best clone against each other one (what merging it would mean for them).
 */
async function conflictReport(task: TaskRecord, changed: CloneRecord[], againstBase: CloneRecord[], baseTip: string | null,
  best: string | null) {
  const pairs: [CloneRecord, CloneRecord][] = [];
  for (let i = 0; i < changed.length; i++) {
    for (let j = i + 1; j < changed.length; j++) {
      const a = changed[i]!;
      const b = changed[j]!;
      if (task.mergeStrategy === 'manual' || a.name === best || b.name === best) pairs.push([a, b]);
    }
  }
  const vsBase = baseTip === null ? [] : againstBase;
  const reports = await findConflictsMany(task.repo, [
    ...vsBase.map((c) => [baseTip!, c.headCommit!] as const),
    ...pairs.map(([a, b]) => [a.headCommit!, b.headCommit!] as const),
  ]);
  const pairReports = pairs.map(([a, b], i) => ({ a: a.name, b: b.name, report: reports[vsBase.length + i]! }));
  return {
    vsBase: Object.fromEntries(vsBase.map((c, i) => [c.name, reports[i]!.conflicts])) as Record<string, string[]>,
    pairs: pairReports.filter((p) => !p.report.clean).map((p) => ({ a: p.a, b: p.b, conflicts: p.report.conflicts })),
  };
}
