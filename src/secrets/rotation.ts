// `kage secrets rotate`: which key is new and which is old, and the key file's part of the rotation.
// With KAGE_MASTER_KEY the user brings both keys (new in KAGE_MASTER_KEY, old in KAGE_MASTER_KEY_OLD).
// With the key file, the new key is written to master.key.next first and renamed over master.key only after
// the database commit: a rotation interrupted anywhere leaves every row openable with a key on disk, and
// running it again finishes it with the same pending key.
import { join } from 'node:path';
import { KageError } from '../domain/index.js';
import { KEY_FILE, parseMasterKey, promotePendingKey, readOrCreatePendingKey } from './master-key.js';
import type { RotationResult, SecretStore } from './secrets.js';

export interface KeyRotationResult extends RotationResult {
  /** The key file that now holds the new key, or null when it came from KAGE_MASTER_KEY. */
  keyFile: string | null;
}

export async function rotateMasterKey(store: SecretStore,
  config: { home: string; masterKey: string | null; masterKeyOld: string | null }): Promise<KeyRotationResult> {
  if (config.masterKey !== null) {
    if (config.masterKeyOld === null) {
      throw new KageError('KAGE_INVALID_CONFIG',
        'With `KAGE_MASTER_KEY` set, `kage secrets rotate` needs the new key in `KAGE_MASTER_KEY` and the current one in `KAGE_MASTER_KEY_OLD`',
        { field: 'KAGE_MASTER_KEY_OLD' });
    }
    return { ...(await store.rotate(parseMasterKey(config.masterKey, 'KAGE_MASTER_KEY'))), keyFile: null };
  }
  const next = readOrCreatePendingKey(config.home);
  const result = await store.rotate(next);
  promotePendingKey(config.home);
  return { ...result, keyFile: join(config.home, KEY_FILE) };
}
