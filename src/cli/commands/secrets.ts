// `kage secrets set|get|list|rm|rotate|audit`: the encrypted store of provider keys (src/secrets).
import type { Command } from 'commander';
import { loadMasterKeys, type MasterKeys } from '../../secrets/master-key.js';
import { rotateMasterKey } from '../../secrets/rotation.js';
import { checkName, createSecretStore, type SecretStore } from '../../secrets/secrets.js';
import { configFrom, withKage, type GlobalFlags } from '../context.js';
import { intOption } from '../options.js';
import { table } from '../render.js';
import { readSecretValue } from '../secret-input.js';

const ACTOR = 'cli';

/**
 * Runs `fn` with the secrets store of this configuration. The keys are loaded before the database is
 * opened, so a bad KAGE_MASTER_KEY or an unsafe key file fails at once; only `create` makes a key file.
 */
async function withSecrets<T>(flags: GlobalFlags, opts: { create: boolean; keys?: MasterKeys },
  fn: (store: SecretStore) => Promise<T>): Promise<T> {
  const keys = opts.keys ?? loadMasterKeys(configFrom(flags), opts);
  return withKage(flags, { queue: false }, (kage) =>
    fn(createSecretStore({ pool: kage.ctx.store.pool, masterKey: keys.current, otherKeys: keys.all, actor: ACTOR })));
}

const when = (d: Date | null): string => (d === null ? '-' : d.toISOString().replace('T', ' ').slice(0, 19));

export function registerSecrets(program: Command, globals: () => GlobalFlags): void {
  const secrets = program.command('secrets').description('Provider keys, encrypted at rest; agents never see them');

  secrets
    .command('set')
    .description('Store a secret; the value comes from stdin, or a prompt that does not echo (never from the command line)')
    .argument('<name>', '1-128 letters, digits, _ . / -')
    .action(async (name: string) => {
      checkName(name);
      const keys = loadMasterKeys(configFrom(globals()), { create: true });
      const value = await readSecretValue(`Value of ${name} (not shown): `, { stdin: process.stdin, stderr: process.stderr });
      if (value === null) {
        process.exitCode = 130;
        return;
      }
      const stored = await withSecrets(globals(), { create: true, keys }, (store) => store.set(name, value));
      process.stdout.write(`${stored.created ? 'Stored' : 'Updated'} secret ${name} (key ${stored.keyId}).\n`);
    });

  secrets
    .command('get')
    .description('Print a secret\'s value, for scripts; every read is recorded in the audit log')
    .argument('<name>', 'secret name')
    .action(async (name: string) => {
      const value = await withSecrets(globals(), { create: false }, (store) => store.get(name, { reader: ACTOR }));
      // Exactly the value when captured ($(...), a file); a newline only for a human at a terminal.
      process.stdout.write(process.stdout.isTTY ? `${value}\n` : value);
    });

  secrets
    .command('list')
    .description('List secrets with their metadata (never their values)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await withSecrets(globals(), { create: false }, async (store) => {
        const list = await store.list();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ masterKey: store.currentKey, secrets: list }, null, 2)}\n`);
          return;
        }
        process.stdout.write(list.length === 0 ? 'No secrets yet. Store one with `kage secrets set <name>`.\n'
          : `${table(['name', 'key', 'reads', 'last read', 'updated', 'created'], list.map((s) => [
            s.name, s.keyId, String(s.readCount), when(s.lastReadAt), when(s.updatedAt), when(s.createdAt)]))}\n`);
        const key = store.currentKey;
        process.stdout.write(key === null ? 'No master key yet; `kage secrets set` creates KAGE_HOME/master.key.\n'
          : `Master key ${key.id} (${key.source}).\n`);
      });
    });

  secrets
    .command('rm')
    .description('Remove a secret')
    .argument('<name>', 'secret name')
    .action(async (name: string) => {
      await withSecrets(globals(), { create: false }, (store) => store.remove(name));
      process.stdout.write(`Removed secret ${name}.\n`);
    });

  secrets
    .command('rotate')
    .description('Re-encrypt every secret under a new master key (generated, or KAGE_MASTER_KEY with the old one in KAGE_MASTER_KEY_OLD)')
    .action(async () => {
      const config = configFrom(globals());
      const keys = loadMasterKeys(config, { create: true });
      const outcome = await withSecrets(globals(), { create: true, keys }, (store) => rotateMasterKey(store, config));
      const from = outcome.fromKeyIds.length > 0 ? ` (from ${outcome.fromKeyIds.join(', ')})` : '';
      process.stdout.write(`Re-encrypted ${outcome.resealed} of ${outcome.total} secret(s) under key ${outcome.keyId}${from}.\n`);
      process.stdout.write(outcome.keyFile !== null
        ? `${outcome.keyFile} now holds the new key; the old key is gone.\n`
        : 'Keep the new key in KAGE_MASTER_KEY and drop KAGE_MASTER_KEY_OLD.\n');
    });

  secrets
    .command('audit')
    .description('Show the audit log: every read (by whom, for which task and clone), set, removal and rotation')
    .argument('[name]', 'only this secret')
    .option('--limit <n>', 'entries to show, newest first', intOption('--limit'), 50)
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, flags: { limit: number; json?: boolean }) => {
      if (name !== undefined) checkName(name);
      const entries = await withSecrets(globals(), { create: false }, (store) => store.auditLog({ name: name ?? null, limit: flags.limit }));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ entries }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${table(['when', 'action', 'name', 'actor', 'task', 'clone', 'origin', 'outcome'], entries.map((e) => [
        when(e.at), e.action, e.name ?? '-', e.actor, e.taskId ?? '-', e.cloneId ?? '-', e.origin, e.error ?? e.detail ?? 'ok',
      ]))}\n`);
    });
}
