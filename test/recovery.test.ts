// Recovery of work a dead kage process left behind, driven in-process against a real database.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalTask } from '../src/domain/index.js';
import type { Kage } from '../src/main/app.js';
import { recover } from '../src/core/recovery.js';
import { cloneBranchName } from '../src/core/branches.js';
import { resolveCommit } from '../src/workspace/git.js';
import { freshDatabase, makeRepo, openKage, waitFor } from './support/harness.js';

let kage: Kage;

beforeAll(async () => {
  kage = await openKage({ databaseUrl: await freshDatabase() });
  await kage.runtime.start(2);
});

afterAll(async () => {
  await kage?.close();
});

describe('recovery', () => {
  it('queues again a clone whose job was never stored, and the task completes', async () => {
    const repo = await makeRepo();
    const id = randomUUID();
    const cloneId = randomUUID();
    // As if a kage process stored the task and died before queueing its job.
    await kage.ctx.store.createTask({
      id, description: 'orphaned before queueing', repo, baseRef: 'main', baseCommit: await resolveCommit(repo, 'main'),
      checkCommand: null, setupCommand: null, mergeStrategy: 'auto', maxRetries: 0, retryDelayMs: 100,
      checkTimeoutMs: 60_000, createdBy: null,
    }, [{ id: cloneId, name: 'fake', agent: 'fake', model: null, options: { behaviour: 'ok' }, branch: cloneBranchName(id, 'fake'), timeoutMs: 60_000 }]);
    await kage.ctx.store.pool.query("update clones set updated_at = now() - interval '5 minutes' where id = $1", [cloneId]);

    const report = await recover(kage.ctx);
    expect(report?.requeued).toEqual([cloneId]);
    const task = await waitFor('the recovered task to finish', async () => {
      const t = await kage.ctx.store.getTask(id);
      return t && isTerminalTask(t.status) ? t : undefined;
    });
    expect(task.status).toBe('completed');
    expect(task.mergeStatus).toBe('merged');
  });

  it('leaves a recently queued clone alone', async () => {
    const report = await recover(kage.ctx);
    expect(report?.requeued).toEqual([]);
  });

  it('a stopping worker hands its running clone back to the queue and takes no new job', async () => {
    // Its own database, so no other worker can take the handed-back job.
    const worker = await openKage({ databaseUrl: await freshDatabase() });
    await worker.runtime.start(2);
    const { task, clones } = await worker.tasks.createTask({ description: 'hang through a stop', repo: await makeRepo(),
      clones: [{ agent: 'fake', options: { behaviour: 'hang' } }] });
    await waitFor('the clone to run', async () => ((await worker.ctx.store.getClone(clones[0]!.id))?.status === 'running' ? true : undefined));
    await worker.runtime.stop({ graceMs: 100 });
    try {
      const clone = (await worker.ctx.store.getClone(clones[0]!.id))!;
      expect(clone).toMatchObject({ status: 'queued', retries: 0, attempt: 1, worktree: clone.worktree });
      expect((await worker.ctx.store.getTask(task.id))!.status).toBe('pending');
      const types = (await worker.ctx.store.listEvents(task.id)).map((e) => e.type);
      expect(types.filter((t) => t === 'clone_started')).toHaveLength(1);
      expect(types).toContain('clone_retry');
      const jobs = await worker.ctx.store.pool.query("select count(*)::int as n from pgboss.job where name = 'kage-clone' and state = 'created'");
      expect(jobs.rows[0].n).toBe(1);
    } finally {
      await worker.close();
    }
  });
});
