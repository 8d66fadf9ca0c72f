// The secrets tables: sealed values by name, their metadata, and the audit log. Values arrive sealed
// (src/secrets) and leave sealed; this module never sees one in clear. Shares pg-store's pool.
import type pg from 'pg';
import { inTransaction } from './transaction.js';
import { sql } from './sql.js';

/** Taken shared by a set and alone by a rotation; numbered after the migration and event locks. */
const SECRETS_LOCK = 7_270_004;

export interface SealedSecretRow {
  name: string;
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
  keyId: string;
}

export interface SecretMetadataRow {
  name: string;
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
  lastReadAt: Date | null;
  readCount: number;
}

/** What an audit entry records: a read, set or removal of one secret, or a rotation of them all. */
export type SecretAuditAction = 'read' | 'set' | 'remove' | 'rotate';

export interface SecretAuditEntry {
  action: SecretAuditAction;
  name: string | null;
  /** What asked: `cli`, `gateway`, ... */
  actor: string;
  taskId: string | null;
  cloneId: string | null;
  /** The asking process, `user@host:pid`. */
  origin: string;
  /** The error code when the action failed (a read with the wrong key), else null. */
  error: string | null;
  detail: string | null;
}

export interface SecretAuditRow extends SecretAuditEntry {
  id: number;
  at: Date;
}

/** The statements one transaction of the secrets store may run. */
export interface SecretTransaction {
  lockForWrite(): Promise<void>;
  lockForRotation(): Promise<void>;
  keyIds(): Promise<string[]>;
  upsert(row: SealedSecretRow): Promise<SecretMetadataRow & { created: boolean }>;
  select(name: string): Promise<SealedSecretRow | null>;
  selectAllForUpdate(): Promise<SealedSecretRow[]>;
  reseal(row: SealedSecretRow): Promise<void>;
  markRead(name: string): Promise<void>;
  remove(name: string): Promise<boolean>;
  audit(entry: SecretAuditEntry): Promise<void>;
}

/** The secrets tables as src/secrets uses them. */
export interface SecretRows {
  transaction<T>(fn: (tx: SecretTransaction) => Promise<T>): Promise<T>;
  list(): Promise<SecretMetadataRow[]>;
  auditLog(opts: { name: string | null; limit: number }): Promise<SecretAuditRow[]>;
}

export class PgSecretStore implements SecretRows {
  constructor(private readonly pool: pg.Pool) {}

  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: (tx: SecretTransaction) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, (client) => fn(transactionOn(client)));
  }


  async list(): Promise<SecretMetadataRow[]> {
    return (await this.pool.query(sql('list-secrets'))).rows.map(toMetadata);
  }

  async auditLog(opts: { name: string | null; limit: number }): Promise<SecretAuditRow[]> {
    const r = await this.pool.query(sql('list-secret-audit'), [opts.name, opts.limit]);
    return r.rows.map((row) => ({
      id: Number(row.id), at: row.at, action: row.action, name: row.name, actor: row.actor, taskId: row.task_id,
      cloneId: row.clone_id, origin: row.origin, error: row.error, detail: row.detail,
    }));
  }
}

function transactionOn(client: pg.PoolClient): SecretTransaction {
  return {
    async lockForWrite() {
      await client.query(sql('lock-secrets-for-write'), [SECRETS_LOCK]);
    },
    async lockForRotation() {
      await client.query(sql('lock-secrets-for-rotation'), [SECRETS_LOCK]);
    },
    async keyIds() {
      return (await client.query(sql('select-secret-key-ids'))).rows.map((row) => row.key_id as string);
    },
    async upsert(row) {
      const r = await client.query(sql('upsert-secret'), [row.name, row.ciphertext, row.iv, row.authTag, row.keyId]);
      return { ...toMetadata(r.rows[0]), created: r.rows[0].created === true };
    },
    async select(name) {
      const row = (await client.query(sql('select-secret'), [name])).rows[0];
      return row ? toSealed(row) : null;
    },
    async selectAllForUpdate() {
      return (await client.query(sql('select-secrets-for-rotation'))).rows.map(toSealed);
    },
    async reseal(row) {
      await client.query(sql('reseal-secret'), [row.name, row.ciphertext, row.iv, row.authTag, row.keyId]);
    },
    async markRead(name) {
      await client.query(sql('mark-secret-read'), [name]);
    },
    async remove(name) {
      return ((await client.query(sql('delete-secret'), [name])).rowCount ?? 0) > 0;
    },
    async audit(e) {
      await client.query(sql('insert-secret-audit'), [e.action, e.name, e.actor, e.taskId, e.cloneId, e.origin, e.error, e.detail]);
    },
  };
}

function toSealed(row: Record<string, unknown>): SealedSecretRow {
  return { name: row.name as string, ciphertext: row.ciphertext as Buffer, iv: row.iv as Buffer, authTag: row.auth_tag as Buffer, keyId: row.key_id as string };
}

function toMetadata(row: Record<string, unknown>): SecretMetadataRow {
  return {
    name: row.name as string, keyId: row.key_id as string, createdAt: row.created_at as Date, updatedAt: row.updated_at as Date,
    lastReadAt: (row.last_read_at as Date | null) ?? null, readCount: Number(row.read_count),
  };
}
