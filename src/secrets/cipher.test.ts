import { describe, expect, it } from 'vitest';
import { isKageError, type ErrorCode } from '../domain/index.js';
import { IV_BYTES, openValue, sealValue, TAG_BYTES } from './cipher.js';
import { generateMasterKey } from './master-key.js';

const key = generateMasterKey('test key');
const other = generateMasterKey('other key');
const VALUE = 'sk-ant-api03-very-secret-value';

function codeOf(fn: () => unknown): { code: ErrorCode; message: string } {
  try {
    fn();
  } catch (err) {
    if (isKageError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

function flipByte(buf: Buffer, at = 0): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

describe('sealValue and openValue', () => {
  it('round-trips a value, including non-ASCII text', () => {
    for (const value of [VALUE, 'x', 'ключ 🔑 with spaces\tand tabs']) {
      expect(openValue([key], 'anthropic', sealValue(key, 'anthropic', value))).toBe(value);
    }
  });

  it('uses a fresh 12-byte IV per value and keeps a 16-byte tag and the key id', () => {
    const a = sealValue(key, 'n', VALUE);
    const b = sealValue(key, 'n', VALUE);
    expect(a.iv).toHaveLength(IV_BYTES);
    expect(a.authTag).toHaveLength(TAG_BYTES);
    expect(a.keyId).toBe(key.id);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.ciphertext.includes(Buffer.from(VALUE))).toBe(false);
  });

  it('opens with whichever of several keys sealed the value', () => {
    expect(openValue([other, key], 'n', sealValue(key, 'n', VALUE))).toBe(VALUE);
  });

  it('reports a wrong master key as a key mismatch that names the keys, not the value', () => {
    const { code, message } = codeOf(() => openValue([other], 'n', sealValue(key, 'n', VALUE)));
    expect(code).toBe('KAGE_SECRET_KEY_MISMATCH');
    expect(message).toContain('does not match the one the secrets were stored with');
    expect(message).toContain(key.id);
    expect(message).toContain(other.id);
    expect(message).not.toContain(VALUE);
  });

  it('reports a missing master key as a key mismatch', () => {
    expect(codeOf(() => openValue([], 'n', sealValue(key, 'n', VALUE))).message).toContain('no master key is configured');
  });

  it('fails the integrity check for an altered ciphertext, IV or tag', () => {
    const sealed = sealValue(key, 'n', VALUE);
    for (const altered of [
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, 3) },
      { ...sealed, iv: flipByte(sealed.iv) },
      { ...sealed, authTag: flipByte(sealed.authTag, 15) },
    ]) {
      const { code, message } = codeOf(() => openValue([key], 'n', altered));
      expect(code).toBe('KAGE_SECRET_INTEGRITY');
      expect(message).not.toContain(VALUE);
    }
  });

  it('refuses a truncated tag instead of verifying fewer bytes', () => {
    const sealed = sealValue(key, 'n', VALUE);
    expect(codeOf(() => openValue([key], 'n', { ...sealed, authTag: sealed.authTag.subarray(0, 4) })).code).toBe('KAGE_SECRET_INTEGRITY');
  });

  it('fails the integrity check when a value sealed for one name is opened under another', () => {
    const sealed = sealValue(key, 'openai', VALUE);
    expect(codeOf(() => openValue([key], 'anthropic', sealed)).code).toBe('KAGE_SECRET_INTEGRITY');
  });

  it('fails the integrity check when a row claims a key id that did not seal it', () => {
    const sealed = sealValue(other, 'n', VALUE);
    expect(codeOf(() => openValue([key], 'n', { ...sealed, keyId: key.id })).code).toBe('KAGE_SECRET_INTEGRITY');
  });
});
