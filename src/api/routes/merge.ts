// v1's merge and conflict endpoints, now real: the merge goes through the task service (the same path as
// `kage merge`), and conflicts come from `git merge-tree` against the base branch's current tip.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CloneRecord, TaskRecord } from '../../domain/index.js';
import { isTerminalTask, KageError } from '../../domain/index.js';
import { filesChanged, findConflicts } from '../../merge/conflicts.js';
import { requireClone } from '../clone-lookup.js';
import type { ApiDeps } from '../deps.js';
import { conflictsQuery, conflictsResponseSchema, errorSchema, mergeQuery, mergeResponseSchema, taskIdParams } from '../schemas.js';

const errors = { 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 422: errorSchema };

function withResult(clone: CloneRecord): CloneRecord & { headCommit: string } {
  if (clone.headCommit) return clone as CloneRecord & { headCommit: string };
  throw new KageError('KAGE_CLONE_NO_RESULT', `Clone ${clone.name} has no commit to compare (status ${clone.status})`, { field: 'cli_name' });
}

async function conflictsWithBase(task: TaskRecord, clone: CloneRecord & { headCommit: string }) {
  const [report, files] = await Promise.all([
    findConflicts(task.repo, `refs/heads/${task.baseRef}`, clone.headCommit),
    filesChanged(task.repo, task.baseCommit, clone.headCommit),
  ]);
  return { report, files };
}

export function registerMergeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { kage } = deps;

  r.post('/api/v1/tasks/:id/merge', {
    schema: {
      summary: 'Merge a finished task\'s clone (default: the judge\'s best) into its base branch',
      tags: ['merge'],
      params: taskIdParams,
      querystring: mergeQuery,
      response: { 200: mergeResponseSchema, ...errors },
    },
  }, async (req) => {
    const { task, clones } = await kage.tasks.view(req.params.id.toLowerCase());
    if (!isTerminalTask(task.status)) {
      throw new KageError('KAGE_TASK_NOT_FINISHED', `Task ${task.id} is still ${task.status}; merge when it has finished`, { field: 'id' });
    }
    if (!clones.some((c) => c.status === 'succeeded')) {
      throw new KageError('KAGE_NOTHING_TO_MERGE', `No clone of task ${task.id} succeeded; nothing to merge`, { field: 'id' });
    }
    const clone = requireClone(task, clones, req.query.cli_name);
    if (clone.status !== 'succeeded') {
      throw new KageError('KAGE_NOTHING_TO_MERGE', `Clone ${clone.name} ended ${clone.status}; only a succeeded clone can be merged`, { field: 'cli_name' });
    }
    const strategy = req.query.strategy ?? task.mergeStrategy;
    if (strategy === 'manual') {
      // v1 accepted `manual` here: it merges nothing and reports what a merge would meet.
      const { report, files } = await conflictsWithBase(task, withResult(clone));
      return {
        task_id: task.id, strategy, success: false, merged_files: [], conflicts: report.conflicts, commit_hash: null,
        message: `Strategy manual merges nothing: ${clone.name} changes ${files.length} file(s), ${report.conflicts.length} conflicting with ${task.baseRef}; merge with strategy theirs or auto`,
        cli_name: clone.name, merge_status: task.mergeStatus, branch: clone.branch,
      };
    }
    const { task: after, result } = await kage.tasks.mergeTask(task.id, { clone: clone.name, strategy });
    return {
      task_id: task.id,
      strategy,
      success: result.status === 'merged' || result.status === 'merged_to_branch',
      merged_files: result.mergedFiles,
      conflicts: result.conflicts,
      commit_hash: result.commit,
      message: result.message,
      cli_name: clone.name,
      merge_status: after.mergeStatus,
      branch: result.branch,
    };
  });

  r.get('/api/v1/tasks/:id/conflicts', {
    schema: {
      summary: 'Whether a clone (default: the judge\'s best) merges cleanly into the base branch\'s current tip',
      tags: ['merge'],
      params: taskIdParams,
      querystring: conflictsQuery,
      response: { 200: conflictsResponseSchema, ...errors },
    },
  }, async (req) => {
    const { task, clones } = await kage.tasks.view(req.params.id.toLowerCase());
    const clone = withResult(requireClone(task, clones, req.query.cli_name));
    const { report, files } = await conflictsWithBase(task, clone);
    return {
      task_id: task.id,
      cli_name: clone.name,
      source_branch: clone.branch,
      target_branch: task.baseRef,
      can_auto_merge: report.clean,
      conflicts: report.conflicts,
      files_changed: files,
      message: report.clean
        ? `${clone.name} merges cleanly into ${task.baseRef} (${files.length} file(s) changed)`
        : `${report.conflicts.length} file(s) conflict with ${task.baseRef}: ${report.conflicts.join(', ')}`,
    };
  });
}
