// Sealing and opening one secret value: AES-256-GCM with a random 12-byte IV per value, the 16-byte tag
// kept beside the ciphertext, and the secret's name bound as additional authenticated data, so a row
// copied under another name fails to open instead of handing out the wrong provider's key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KageError, showValue } from '../domain/index.js';
import type { MasterKey } from './master-key.js';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** What is stored for one value; never the value itself. */
export interface SealedValue {
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
  /** Fingerprint of the master key that sealed it (see master-key.ts `keyId`). */
  keyId: string;
}

/** The version prefix lets a later format change bind different data without ambiguity. */
function additionalData(name: string): Buffer {
  return Buffer.from(`kage-secret/v1\n${name}`, 'utf8');
}

export function sealValue(key: MasterKey, name: string, value: string): SealedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(name));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { ciphertext, iv, authTag: cipher.getAuthTag(), keyId: key.id };
}

/**
 * Opens a sealed value with whichever of `keys` sealed it. A key id none of them has is the wrong master
 * key (KAGE_SECRET_KEY_MISMATCH); a known key whose tag does not verify means the row itself changed
 * (KAGE_SECRET_INTEGRITY). Neither error carries any part of the value.
 */
export function openValue(keys: readonly MasterKey[], name: string, sealed: SealedValue): string {
  const key = keys.find((k) => k.id === sealed.keyId);
  if (key === undefined) throw keyMismatch(name, sealed.keyId, keys);
  if (sealed.iv.length !== IV_BYTES || sealed.authTag.length !== TAG_BYTES) {
    throw integrityError(name, `its IV or tag has the wrong length (${sealed.iv.length}, ${sealed.authTag.length} bytes)`);
  }
  // authTagLength pins the tag size: without it Node accepts truncated tags, which are easier to forge.
  const decipher = createDecipheriv('aes-256-gcm', key.bytes, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(name));
  decipher.setAuthTag(sealed.authTag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch (err) {
    throw integrityError(name, 'its ciphertext, IV, tag or name do not verify under the key it names', err);
  }
}

export function keyMismatch(name: string | null, storedKeyId: string, keys: readonly MasterKey[]): KageError {
  const have = keys.length === 0
    ? 'no master key is configured (set KAGE_MASTER_KEY or restore KAGE_HOME/master.key)'
    : `this process has ${keys.map((k) => `${k.id} (${k.source})`).join(', ')}`;
  const which = name === null ? 'the secrets are' : `secret ${showValue(name)} is`;
  return new KageError('KAGE_SECRET_KEY_MISMATCH',
    `The master key does not match the one the secrets were stored with: ${which} sealed with key ${storedKeyId}, ${have}`,
    { field: 'KAGE_MASTER_KEY', details: { name, storedKeyId, keyIds: keys.map((k) => k.id) } });
}

function integrityError(name: string, why: string, cause?: unknown): KageError {
  return new KageError('KAGE_SECRET_INTEGRITY',
    `Secret ${showValue(name)} failed its integrity check: ${why}; the row was altered, corrupted or copied from another name. Set it again.`,
    { field: 'name', details: { name }, ...(cause === undefined ? {} : { cause }) });
}
