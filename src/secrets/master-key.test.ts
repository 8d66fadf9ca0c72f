import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKageError, type ErrorCode } from '../domain/index.js';
import {
  keyId, KEY_FILE, loadMasterKeys, parseMasterKey, PENDING_KEY_FILE, promotePendingKey, readOrCreateKeyFile, readOrCreatePendingKey,
} from './master-key.js';

const BYTES = randomBytes(32);

function failure(fn: () => unknown): { code: ErrorCode; message: string; field: string | null } {
  try {
    fn();
  } catch (err) {
    if (isKageError(err)) return { code: err.code, message: err.message, field: err.field };
    throw err;
  }
  throw new Error('expected an error');
}

const home = (): string => mkdtempSync(join(tmpdir(), 'kage-master-key-'));

describe('parseMasterKey', () => {
  it('accepts 32 bytes as hex, base64 and base64url, all with the same key id', () => {
    const ids = [BYTES.toString('hex'), BYTES.toString('base64'), BYTES.toString('base64url'), `  ${BYTES.toString('base64')}\n`]
      .map((text) => parseMasterKey(text, 'KAGE_MASTER_KEY').id);
    expect(new Set(ids)).toEqual(new Set([keyId(BYTES)]));
    expect(parseMasterKey(BYTES.toString('hex'), 'KAGE_MASTER_KEY').bytes.equals(BYTES)).toBe(true);
  });

  it('rejects a key of the wrong length naming the variable and the length, never the text', () => {
    for (const text of [randomBytes(16).toString('base64'), randomBytes(31).toString('hex'), 'correct horse battery staple', '']) {
      const { code, message, field } = failure(() => parseMasterKey(text, 'KAGE_MASTER_KEY'));
      expect(code).toBe('KAGE_INVALID_CONFIG');
      expect(field).toBe('KAGE_MASTER_KEY');
      expect(message).toContain(`got ${text.length} characters`);
      if (text !== '') expect(message).not.toContain(text);
    }
  });

  it('gives different keys different ids that do not reveal the key', () => {
    const a = parseMasterKey(BYTES.toString('hex'), 'a');
    const b = parseMasterKey(randomBytes(32).toString('hex'), 'b');
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(a.id).not.toBe(b.id);
    expect(BYTES.toString('hex')).not.toContain(a.id);
  });
});

describe('the key file', () => {
  it('is created with mode 0600 on first use and read back afterwards', () => {
    const dir = join(home(), 'nested-home');
    const path = join(dir, KEY_FILE);
    const created = readOrCreateKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readOrCreateKeyFile(path).id).toBe(created.id);
    expect(parseMasterKey(readFileSync(path, 'utf8'), path).id).toBe(created.id);
  });

  it('is refused when group or others can read it', () => {
    const path = join(home(), KEY_FILE);
    readOrCreateKeyFile(path);
    chmodSync(path, 0o644);
    const { code, message } = failure(() => readOrCreateKeyFile(path));
    expect(code).toBe('KAGE_SECRET_KEY_FILE_UNSAFE');
    expect(message).toContain('0644');
    expect(message).toContain(`chmod 600 ${path}`);
  });

  it('is refused when it does not hold a key', () => {
    const path = join(home(), KEY_FILE);
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    expect(failure(() => readOrCreateKeyFile(path)).code).toBe('KAGE_SECRET_KEY_FILE_UNSAFE');
  });
});

describe('loadMasterKeys', () => {
  it('prefers KAGE_MASTER_KEY and creates no key file then', () => {
    const dir = home();
    const keys = loadMasterKeys({ home: dir, masterKey: BYTES.toString('base64'), masterKeyOld: null }, { create: true });
    expect(keys.current?.source).toBe('KAGE_MASTER_KEY');
    expect(existsSync(join(dir, KEY_FILE))).toBe(false);
  });

  it('creates the key file only when asked to', () => {
    const dir = home();
    expect(loadMasterKeys({ home: dir, masterKey: null, masterKeyOld: null }, { create: false })).toEqual({ current: null, all: [] });
    expect(existsSync(join(dir, KEY_FILE))).toBe(false);
    const keys = loadMasterKeys({ home: dir, masterKey: null, masterKeyOld: null }, { create: true });
    expect(keys.current?.source).toBe(join(dir, KEY_FILE));
  });

  it('adds a pending rotation key and KAGE_MASTER_KEY_OLD as keys that open older rows', () => {
    const dir = home();
    const old = randomBytes(32);
    const current = loadMasterKeys({ home: dir, masterKey: null, masterKeyOld: null }, { create: true }).current!;
    const pending = readOrCreatePendingKey(dir);
    const keys = loadMasterKeys({ home: dir, masterKey: null, masterKeyOld: old.toString('hex') }, { create: false });
    expect(keys.current?.id).toBe(current.id);
    expect(keys.all.map((k) => k.id)).toEqual([current.id, pending.id, keyId(old)]);
  });

  it('names KAGE_MASTER_KEY_OLD when it is malformed', () => {
    expect(failure(() => loadMasterKeys({ home: home(), masterKey: null, masterKeyOld: 'short' }, { create: false })).field)
      .toBe('KAGE_MASTER_KEY_OLD');
  });
});

describe('a pending rotation key', () => {
  it('is reused until promoted over the key file', () => {
    const dir = home();
    readOrCreateKeyFile(join(dir, KEY_FILE));
    const pending = readOrCreatePendingKey(dir);
    expect(readOrCreatePendingKey(dir).id).toBe(pending.id);
    promotePendingKey(dir);
    expect(existsSync(join(dir, PENDING_KEY_FILE))).toBe(false);
    expect(readOrCreateKeyFile(join(dir, KEY_FILE)).id).toBe(pending.id);
    expect(statSync(join(dir, KEY_FILE)).mode & 0o777).toBe(0o600);
  });
});
