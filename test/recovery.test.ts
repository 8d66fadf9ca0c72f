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
});
