// Applies the numbered .sql migrations once each, in order, under an advisory lock so that
// several kage processes starting together do not race.
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { packagePath } from './sql.js';

const MIGRATION_LOCK = 7_270_001;

export async function migrate(pool: pg.Pool): Promise<string[]> {
  const dir = packagePath('migrations');
  const files = readdirSync(dir).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'create table if not exists kage_migrations (name text primary key, applied_at timestamptz not null default now())',
    );
    const done = new Set((await client.query<{ name: string }>('select name from kage_migrations')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query('begin');
      try {
        await client.query(readFileSync(`${dir}/${file}`, 'utf8'));
        await client.query('insert into kage_migrations (name) values ($1)', [file]);
        await client.query('commit');
        applied.push(file);
      } catch (err) {
        await client.query('rollback');
        throw new Error(`Migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
