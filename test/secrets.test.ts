// The secrets store on a real PostgreSQL, through its module API and through the built `kage` CLI.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isKageError, type ErrorCode } from '../src/domain/index.js';
import { generateMasterKey, KEY_FILE, loadMasterKeys, PENDING_KEY_FILE, readOrCreatePendingKey } from '../src/secrets/master-key.js';
import { createSecretStore } from '../src/secrets/secrets.js';
import { PgStore } from '../src/store/pg-store.js';
import { freshDatabase, kageCli, tempDir, type CliResult } from './support/harness.js';

const VALUE = `sk-test-${randomBytes(12).toString('hex')}`;

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (err) {
    if (isKageError(err)) return err.code;
    throw err;
  }
  throw new Error('expected an error');
}

/** Everything in the secrets tables as text, bytea included (as hex and as raw bytes). */
async function tableDump(pool: pg.Pool): Promise<{ text: string; bytes: Buffer[] }> {
  const rows = (await pool.query('select s::text as t, s.ciphertext, s.iv, s.auth_tag from secrets s')).rows;
  const audit = (await pool.query('select a::text as t from secret_audit a')).rows;
  return {
    text: [...rows, ...audit].map((r) => r.t).join('\n'),
    bytes: rows.flatMap((r) => [r.ciphertext, r.iv, r.auth_tag]),
  };
}

function expectNoValue(dump: { text: string; bytes: Buffer[] }, value: string): void {
  expect(dump.text).not.toContain(value);
  expect(dump.text).not.toContain(Buffer.from(value).toString('hex'));
  for (const bytes of dump.bytes) expect(bytes.includes(Buffer.from(value))).toBe(false);
}

describe('the secrets store', () => {
  const stores: PgStore[] = [];
  async function freshPool(): Promise<pg.Pool> {
    const store = new PgStore(await freshDatabase(), 4);
    await store.migrate();
    stores.push(store);
    return store.pool;
  }
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  it('stores only ciphertext and audits each read with its reader, task and clone', async () => {
    const pool = await freshPool();
    const secrets = createSecretStore({ pool, masterKey: generateMasterKey('test'), actor: 'test' });
    expect((await secrets.set('providers/anthropic', VALUE)).created).toBe(true);
    expectNoValue(await tableDump(pool), VALUE);

    const taskId = randomUUID();
    const cloneId = randomUUID();
    expect(await secrets.get('providers/anthropic', { reader: 'gateway', taskId, cloneId })).toBe(VALUE);
    const audit = (await pool.query("select * from secret_audit where action = 'read'")).rows;
    expect(audit).toMatchObject([{ name: 'providers/anthropic', actor: 'gateway', task_id: taskId, clone_id: cloneId, error: null }]);
    expect(audit[0].origin).toContain(`:${process.pid}`);

    const [listed] = await secrets.list();
    expect(listed).toMatchObject({ name: 'providers/anthropic', readCount: 1, keyId: secrets.currentKey!.id });
    expect(listed!.lastReadAt).toBeInstanceOf(Date);
    expect(JSON.stringify(await secrets.list())).not.toContain(VALUE);
    expect((await secrets.set('providers/anthropic', `${VALUE}-2`)).created).toBe(false);
    expect(await secrets.get('providers/anthropic', { reader: 'cli' })).toBe(`${VALUE}-2`);
  });

  it('tells a wrong master key from an altered or copied row, and audits the failed reads', async () => {
    const pool = await freshPool();
    const right = createSecretStore({ pool, masterKey: generateMasterKey('right') });
    const wrong = createSecretStore({ pool, masterKey: generateMasterKey('wrong') });
    await right.set('openai', VALUE);
    await right.set('other', 'x');

    expect(await codeOf(wrong.get('openai', { reader: 'gateway' }))).toBe('KAGE_SECRET_KEY_MISMATCH');
    // A second key would leave the store readable by neither key alone.
    expect(await codeOf(wrong.set('new', VALUE))).toBe('KAGE_SECRET_KEY_MISMATCH');
    expect(await codeOf(right.get('missing', { reader: 'gateway' }))).toBe('KAGE_SECRET_NOT_FOUND');

    await pool.query("insert into secrets (name, ciphertext, iv, auth_tag, key_id) select 'copied', ciphertext, iv, auth_tag, key_id from secrets where name = 'openai'");
    expect(await codeOf(right.get('copied', { reader: 'gateway' }))).toBe('KAGE_SECRET_INTEGRITY');
    await pool.query("update secrets set ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) where name = 'other'");
    expect(await codeOf(right.get('other', { reader: 'gateway' }))).toBe('KAGE_SECRET_INTEGRITY');
    expect(await right.get('openai', { reader: 'gateway' })).toBe(VALUE);

    const reads = (await pool.query("select name, error from secret_audit where action = 'read' order by id")).rows;
    expect(reads).toEqual([
      { name: 'openai', error: 'KAGE_SECRET_KEY_MISMATCH' },
      { name: 'missing', error: 'KAGE_SECRET_NOT_FOUND' },
      { name: 'copied', error: 'KAGE_SECRET_INTEGRITY' },
      { name: 'other', error: 'KAGE_SECRET_INTEGRITY' },
      { name: 'openai', error: null },
    ]);
    expect((await pool.query("select read_count from secrets where name = 'openai'")).rows[0].read_count).toBe('1');
  });

  it('rotates all or nothing: a row no key opens aborts the rotation with every row as it was', async () => {
    const pool = await freshPool();
    const oldKey = generateMasterKey('old');
    const newKey = generateMasterKey('new');
    const secrets = createSecretStore({ pool, masterKey: oldKey });
    for (const name of ['a', 'b', 'c']) await secrets.set(name, `${VALUE}-${name}`);
    await pool.query("update secrets set auth_tag = set_byte(auth_tag, 0, get_byte(auth_tag, 0) # 1) where name = 'c'");

    expect(await codeOf(secrets.rotate(newKey))).toBe('KAGE_SECRET_INTEGRITY');
    expect((await secrets.list()).map((s) => s.keyId)).toEqual([oldKey.id, oldKey.id, oldKey.id]);
    expect(await secrets.get('a', { reader: 'test' })).toBe(`${VALUE}-a`);

    await secrets.remove('c');
    expect(await secrets.rotate(newKey)).toEqual({ keyId: newKey.id, resealed: 2, total: 2, fromKeyIds: [oldKey.id] });
    expect((await secrets.list()).map((s) => s.keyId)).toEqual([newKey.id, newKey.id]);
    expect(secrets.currentKey?.id).toBe(newKey.id);
    const onlyNew = createSecretStore({ pool, masterKey: newKey });
    expect(await onlyNew.get('b', { reader: 'test' })).toBe(`${VALUE}-b`);
    expect(await codeOf(createSecretStore({ pool, masterKey: oldKey }).get('b', { reader: 'test' }))).toBe('KAGE_SECRET_KEY_MISMATCH');
    expect((await pool.query("select detail from secret_audit where action = 'rotate'")).rows).toEqual([
      { detail: `2 of 2 re-sealed from ${oldKey.id} to ${newKey.id}` },
    ]);
  });

  it('rejects bad names, readers, ids and values naming the field, never echoing the value', async () => {
    const secrets = createSecretStore({ pool: await freshPool(), masterKey: generateMasterKey('k') });
    const failure = async (p: Promise<unknown>) => p.then(() => expect.unreachable(), (err: unknown) => err as { code: string; field: string; message: string });
    for (const name of ['', 'has space', 'x'.repeat(129), 'semi;colon']) {
      expect(await failure(secrets.set(name, VALUE))).toMatchObject({ code: 'KAGE_SECRET_INVALID_NAME', field: 'name' });
    }
    expect(await failure(secrets.set('ok', ''))).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'value' });
    const tooLong = await failure(secrets.set('ok', VALUE.repeat(5000)));
    expect(tooLong).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'value' });
    expect(tooLong.message).not.toContain(VALUE);
    expect(await failure(secrets.get('ok', { reader: 'gateway', taskId: 'task-1' }))).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'taskId' });
    expect(await failure(secrets.get('ok', { reader: 'not ok' }))).toMatchObject({ code: 'KAGE_INVALID_INPUT', field: 'reader' });
    expect(await failure(secrets.remove('ok'))).toMatchObject({ code: 'KAGE_SECRET_NOT_FOUND' });
  });
});

describe('kage secrets', () => {
  async function setup(): Promise<{ home: string; url: string; env: Record<string, string> }> {
    const url = await freshDatabase();
    const home = tempDir('secrets');
    return { home, url, env: { DATABASE_URL: url, KAGE_HOME: home } };
  }
  const run = (args: string[], env: Record<string, string>, input?: string): Promise<CliResult> =>
    kageCli(['secrets', ...args], env, input === undefined ? {} : { input });
  const ok = async (args: string[], env: Record<string, string>, input?: string): Promise<string> => {
    const r = await run(args, env, input);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  }

  it('sets from stdin, lists metadata only, gets and audits the read, removes; the value never shows', async () => {
    const { home, url, env } = await setup();
    const traced = { ...env, KAGE_LOG_LEVEL: 'trace' };
    const set = await run(['set', 'openai'], traced, `${VALUE}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Stored secret openai \(key [0-9a-f]{16}\)\.\n$/);
    expect(`${set.stdout}${set.stderr}`).not.toContain(VALUE);
    expect(statSync(join(home, KEY_FILE)).mode & 0o777).toBe(0o600);

    const listed = JSON.parse(await ok(['list', '--json'], env));
    expect(listed.masterKey.source).toBe(join(home, KEY_FILE));
    expect(listed.secrets).toMatchObject([{ name: 'openai', readCount: 0, lastReadAt: null, keyId: listed.masterKey.id }]);
    const text = await ok(['list'], env);
    expect(text).toContain('openai');
    expect(`${JSON.stringify(listed)}${text}`).not.toContain(VALUE);

    const rows = await query(url, 'select s::text as t, ciphertext from secrets s');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.t).not.toContain(VALUE);
    expect((rows[0]!.ciphertext as Buffer).includes(Buffer.from(VALUE))).toBe(false);

    const got = await run(['get', 'openai'], traced);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(VALUE);
    expect(got.stderr).not.toContain(VALUE);
    const reads = await query(url, "select name, actor, error from secret_audit where action = 'read'");
    expect(reads).toEqual([{ name: 'openai', actor: 'cli', error: null }]);
    expect(JSON.parse(await ok(['list', '--json'], env)).secrets[0].readCount).toBe(1);
    const audit = JSON.parse(await ok(['audit', 'openai', '--json'], env)).entries;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(['read', 'set']);

    expect(await ok(['rm', 'openai'], env)).toBe('Removed secret openai.\n');
    expect(JSON.parse(await ok(['list', '--json'], env)).secrets).toEqual([]);
    const again = await run(['rm', 'openai'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('[KAGE_SECRET_NOT_FOUND]');
    expect((await query(url, 'select action from secret_audit order by id')).map((r) => r.action)).toEqual(['set', 'read', 'remove']);
  });

  it('takes no value from the command line', async () => {
    const { url, env } = await setup();
    const r = await run(['set', 'openai', VALUE], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('too many arguments');
    expect(`${r.stdout}${r.stderr}`).not.toContain(VALUE);
    const invalid = await run(['set', 'bad name'], env, VALUE);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('[KAGE_SECRET_INVALID_NAME]');
    expect(await query(url, "select count(*)::int as n from information_schema.tables where table_name = 'secrets'")).toEqual([{ n: 0 }]);
  });

  it('fails clearly under another KAGE_MASTER_KEY, a malformed one, or a key file others can read', async () => {
    const { home, env } = await setup();
    const keyA = randomBytes(32).toString('base64');
    const keyB = randomBytes(32).toString('hex');
    await ok(['set', 'openai'], { ...env, KAGE_MASTER_KEY: keyA }, VALUE);
    expect(existsSync(join(home, KEY_FILE))).toBe(false);
    expect(await ok(['get', 'openai'], { ...env, KAGE_MASTER_KEY: keyA })).toBe(VALUE);

    const wrong = await run(['get', 'openai'], { ...env, KAGE_MASTER_KEY: keyB });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain('The master key does not match the one the secrets were stored with');
    expect(wrong.stderr).toContain('[KAGE_SECRET_KEY_MISMATCH]');
    expect(wrong.stderr).not.toContain(keyB);

    const short = await run(['get', 'openai'], { ...env, KAGE_MASTER_KEY: 'c2hvcnQ=' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('Expected `KAGE_MASTER_KEY` to be 32 bytes');
    expect(short.stderr).toContain('[KAGE_INVALID_CONFIG]');

    // Without KAGE_MASTER_KEY the store uses the key file: a new one cannot open the rows either.
    const fileKey = await run(['set', 'other'], env, VALUE);
    expect(fileKey.code).toBe(1);
    expect(fileKey.stderr).toContain('[KAGE_SECRET_KEY_MISMATCH]');
    chmodSync(join(home, KEY_FILE), 0o644);
    const unsafe = await run(['list'], env);
    expect(unsafe.code).toBe(1);
    expect(unsafe.stderr).toContain('[KAGE_SECRET_KEY_FILE_UNSAFE]');
  });

  it('rotates the key file: every secret re-encrypted, the file replaced, the values unchanged', async () => {
    const { home, env } = await setup();
    await ok(['set', 'openai'], env, `${VALUE}-o`);
    await ok(['set', 'anthropic'], env, `${VALUE}-a`);
    const oldFile = readFileSync(join(home, KEY_FILE), 'utf8');
    const before = JSON.parse(await ok(['list', '--json'], env));

    const out = await ok(['rotate'], env);
    expect(out).toContain(`Re-encrypted 2 of 2 secret(s) under key `);
    expect(out).toContain(`(from ${before.masterKey.id})`);
    expect(readFileSync(join(home, KEY_FILE), 'utf8')).not.toBe(oldFile);
    expect(statSync(join(home, KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(home, PENDING_KEY_FILE))).toBe(false);
    const after = JSON.parse(await ok(['list', '--json'], env));
    expect(after.masterKey.id).not.toBe(before.masterKey.id);
    expect(after.secrets.map((s: { keyId: string }) => s.keyId)).toEqual([after.masterKey.id, after.masterKey.id]);
    expect(await ok(['get', 'openai'], env)).toBe(`${VALUE}-o`);
    expect(await ok(['get', 'anthropic'], env)).toBe(`${VALUE}-a`);

    const withOldKey = await run(['get', 'openai'], { ...env, KAGE_MASTER_KEY: oldFile.trim() });
    expect(withOldKey.stderr).toContain('[KAGE_SECRET_KEY_MISMATCH]');
  });

  it('loses nothing when a rotation stops before or after its database commit, and finishes when run again', async () => {
    const { home, url, env } = await setup();
    await ok(['set', 'openai'], env, `${VALUE}-o`);
    // Stopped before the commit: the pending key exists, every row is still under the old key.
    const pending = readOrCreatePendingKey(home);
    expect(await ok(['get', 'openai'], env)).toBe(`${VALUE}-o`);

    // Stopped after the commit: every row is under the pending key, master.key still holds the old one.
    const pgStore = new PgStore(url, 2);
    try {
      const keys = loadMasterKeys({ home, masterKey: null, masterKeyOld: null }, { create: false });
      await createSecretStore({ pool: pgStore.pool, masterKey: keys.current, otherKeys: keys.all }).rotate(pending);
    } finally {
      await pgStore.close();
    }
    expect(await ok(['get', 'openai'], env)).toBe(`${VALUE}-o`);
    await ok(['set', 'anthropic'], env, `${VALUE}-a`);
    expect((await query(url, 'select distinct key_id from secrets')).map((r) => r.key_id)).toEqual([pending.id]);

    const out = await ok(['rotate'], env);
    expect(out).toContain(`Re-encrypted 0 of 2 secret(s) under key ${pending.id}.`);
    expect(existsSync(join(home, PENDING_KEY_FILE))).toBe(false);
    expect(JSON.parse(await ok(['list', '--json'], env)).masterKey.id).toBe(pending.id);
    expect(await ok(['get', 'anthropic'], env)).toBe(`${VALUE}-a`);
  });

  it('rotates under KAGE_MASTER_KEY when the old key is in KAGE_MASTER_KEY_OLD', async () => {
    const { env } = await setup();
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    await ok(['set', 'openai'], { ...env, KAGE_MASTER_KEY: oldKey }, VALUE);

    const missingOld = await run(['rotate'], { ...env, KAGE_MASTER_KEY: newKey });
    expect(missingOld.code).toBe(1);
    expect(missingOld.stderr).toContain('`KAGE_MASTER_KEY_OLD`');
    expect(await ok(['get', 'openai'], { ...env, KAGE_MASTER_KEY: oldKey })).toBe(VALUE);

    expect(await ok(['rotate'], { ...env, KAGE_MASTER_KEY: newKey, KAGE_MASTER_KEY_OLD: oldKey })).toContain('Re-encrypted 1 of 1');
    expect(await ok(['get', 'openai'], { ...env, KAGE_MASTER_KEY: newKey })).toBe(VALUE);
    expect((await run(['get', 'openai'], { ...env, KAGE_MASTER_KEY: oldKey })).stderr).toContain('[KAGE_SECRET_KEY_MISMATCH]');
  });
});
