// The secrets store: named values (provider keys) sealed under the master key, every read audited in the
// read's own transaction, and rotation to a new master key in one transaction. The gateway and the CLI use
// it; nothing here logs, and no error carries a value.
import { hostname, userInfo } from 'node:os';
import type pg from 'pg';
import { isKageError, KageError, showValue } from '../domain/index.js';
import { PgSecretStore, type SecretAuditRow, type SecretMetadataRow, type SecretRows, type SecretTransaction } from '../store/secret-store.js';
import { keyMismatch, openValue, sealValue } from './cipher.js';
import type { MasterKey } from './master-key.js';

export type { SecretAuditRow } from '../store/secret-store.js';

export const MAX_VALUE_BYTES = 64 * 1024;
const NAME = /^[A-Za-z0-9_./-]{1,128}$/;
const ACTOR = /^[A-Za-z0-9_.:@-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Either a pool (the tables are used through PgSecretStore) or the tables themselves (built by the caller, or a fake). */
export type SecretStoreOptions = ({ pool: pg.Pool } | { rows: SecretRows }) & {
  /** The key new values are sealed with; null when none exists yet (list and remove still work). */
  masterKey: MasterKey | null;
  /** More keys that open older rows: the previous key, or a rotation's pending key. */
  otherKeys?: readonly MasterKey[];
  /** Who sets, removes and rotates through this store, for the audit log (`cli`, `gateway`); default `kage`. */
  actor?: string;
  /** The process, for the audit log; default `user@host:pid`. */
  origin?: string;
};

/** Who reads a secret and for which clone, for the audit log. */
export interface ReadContext {
  reader: string;
  taskId?: string | null;
  cloneId?: string | null;
}

export type SecretInfo = SecretMetadataRow;

export interface RotationResult {
  /** The key every secret is sealed with now. */
  keyId: string;
  /** Secrets re-sealed by this rotation; the others already were under the new key. */
  resealed: number;
  total: number;
  /** The keys the re-sealed secrets were under before. */
  fromKeyIds: string[];
}

export interface SecretStore {
  /** The key new values are sealed with, without its bytes. */
  readonly currentKey: { id: string; source: string } | null;
  set(name: string, value: string): Promise<SecretInfo & { created: boolean }>;
  /** The value, after committing the audit entry of the read; a failed read is audited too. */
  get(name: string, ctx: ReadContext): Promise<string>;
  list(): Promise<SecretInfo[]>;
  remove(name: string): Promise<void>;
  /** Re-seals every secret under `newKey`, all or nothing; afterwards this store seals with it. */
  rotate(newKey: MasterKey): Promise<RotationResult>;
  auditLog(opts?: { name?: string | null; limit?: number }): Promise<SecretAuditRow[]>;
}

export function createSecretStore(opts: SecretStoreOptions): SecretStore {
  const rows = 'rows' in opts ? opts.rows : new PgSecretStore(opts.pool);
  const actor = checkActor(opts.actor ?? 'kage', 'actor');
  const origin = opts.origin ?? defaultOrigin();
  let current = opts.masterKey;
  let keys = uniqueKeys([current, ...(opts.otherKeys ?? [])]);

  /** Seals with the key the stored rows already use, so one store never mixes keys outside a rotation. */
  async function sealingKey(tx: SecretTransaction): Promise<MasterKey> {
    const stored = await tx.keyIds();
    const unknown = stored.find((id) => !keys.some((k) => k.id === id));
    if (unknown !== undefined) throw keyMismatch(null, unknown, keys);
    if (current !== null && (stored.length === 0 || stored.includes(current.id))) return current;
    // Rows under another key this process has: a rotation committed but its key file is not promoted yet.
    if (stored.length > 0) return keys.find((k) => k.id === stored[0])!;
    throw new KageError('KAGE_INVALID_CONFIG', 'No master key to seal the secret with: set `KAGE_MASTER_KEY` or let kage create KAGE_HOME/master.key',
      { field: 'KAGE_MASTER_KEY' });
  }

  return {
    get currentKey() {
      return current === null ? null : { id: current.id, source: current.source };
    },

    async set(name, value) {
      checkName(name);
      checkValue(value);
      return rows.transaction(async (tx) => {
        await tx.lockForWrite();
        const key = await sealingKey(tx);
        const stored = await tx.upsert({ name, ...sealValue(key, name, value) });
        await tx.audit({ action: 'set', name, actor, taskId: null, cloneId: null, origin, error: null, detail: stored.created ? 'created' : 'updated' });
        return stored;
      });
    },

    async get(name, ctx) {
      checkName(name);
      const reader = checkActor(ctx.reader, 'reader');
      const taskId = checkId(ctx.taskId ?? null, 'taskId');
      const cloneId = checkId(ctx.cloneId ?? null, 'cloneId');
      const outcome = await rows.transaction(async (tx) => {
        const row = await tx.select(name);
        let value: string | null = null;
        let error: KageError | null = null;
        if (row === null) {
          error = new KageError('KAGE_SECRET_NOT_FOUND', `No secret is named ${showValue(name)}`, { field: 'name', details: { name } });
        } else {
          try {
            value = openValue(keys, name, row);
          } catch (err) {
            if (!isKageError(err)) throw err;
            error = err;
          }
        }
        if (value !== null) await tx.markRead(name);
        await tx.audit({ action: 'read', name, actor: reader, taskId, cloneId, origin, error: error?.code ?? null, detail: null });
        return { value, error };
      });
      if (outcome.error !== null) throw outcome.error;
      return outcome.value!;
    },

    list: () => rows.list(),

    async remove(name) {
      checkName(name);
      await rows.transaction(async (tx) => {
        if (!(await tx.remove(name))) {
          throw new KageError('KAGE_SECRET_NOT_FOUND', `No secret is named ${showValue(name)}`, { field: 'name', details: { name } });
        }
        await tx.audit({ action: 'remove', name, actor, taskId: null, cloneId: null, origin, error: null, detail: null });
      });
    },

    async rotate(newKey) {
      const openKeys = uniqueKeys([...keys, newKey]);
      const result = await rows.transaction(async (tx) => {
        await tx.lockForRotation();
        const sealed = await tx.selectAllForUpdate();
        const from = new Set<string>();
        let resealed = 0;
        for (const row of sealed) {
          if (row.keyId === newKey.id) continue;
          // A row no key opens aborts the whole rotation: nothing is re-sealed, nothing is lost.
          const value = openValue(openKeys, row.name, row);
          await tx.reseal({ name: row.name, ...sealValue(newKey, row.name, value) });
          from.add(row.keyId);
          resealed += 1;
        }
        const fromKeyIds = [...from].sort();
        await tx.audit({ action: 'rotate', name: null, actor, taskId: null, cloneId: null, origin, error: null,
          detail: `${resealed} of ${sealed.length} re-sealed from ${fromKeyIds.join(', ') || '-'} to ${newKey.id}` });
        return { keyId: newKey.id, resealed, total: sealed.length, fromKeyIds };
      });
      current = newKey;
      keys = openKeys;
      return result;
    },

    auditLog: (o = {}) => rows.auditLog({ name: o.name ?? null, limit: o.limit ?? 100 }),
  };
}

export function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new KageError('KAGE_SECRET_INVALID_NAME',
      `Expected \`name\` to be 1-128 letters, digits, \`_\`, \`.\`, \`/\` or \`-\`, got ${showValue(name)}`, { field: 'name' });
  }
}

/** Says how long a bad value is, never what it is. */
function checkValue(value: string): void {
  const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : -1;
  if (bytes < 1 || bytes > MAX_VALUE_BYTES) {
    throw new KageError('KAGE_INVALID_INPUT',
      `Expected \`value\` to be a string of 1 to ${MAX_VALUE_BYTES} bytes, got ${bytes < 0 ? typeof value : `${bytes} bytes`}`, { field: 'value' });
  }
}

function checkActor(value: string, field: string): string {
  if (typeof value !== 'string' || !ACTOR.test(value)) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be 1-64 letters, digits, \`_.:@-\`, got ${showValue(value)}`, { field });
  }
  return value;
}

function checkId(value: string | null, field: string): string | null {
  if (value !== null && (typeof value !== 'string' || !UUID.test(value))) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be a UUID, got ${showValue(value)}`, { field });
  }
  return value;
}

function uniqueKeys(list: readonly (MasterKey | null)[]): MasterKey[] {
  const out: MasterKey[] = [];
  for (const key of list) if (key !== null && !out.some((k) => k.id === key.id)) out.push(key);
  return out;
}

function defaultOrigin(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (common in containers).
    user = `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}:${process.pid}`;
}
