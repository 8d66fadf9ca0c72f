// An agent CLI's own login (a subscription's OAuth credentials) for a passthrough clone: copied from the
// user's HOME into the clone's private HOME before the agent starts, and removed when the attempt ends, so
// the CLI signs in as the user while its HOME stays its own.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KageError } from '../domain/index.js';

/**
 * Copies each of `files` (relative to both HOMEs) that exists in `userHome` into `home`, mode 0600, and
 * returns the ones copied. A copy, not a link: the agent can change its HOME but never the user's files.
 */
export async function copyLoginFiles(userHome: string, home: string, files: readonly string[]): Promise<string[]> {
  const copied: string[] = [];
  for (const file of files) {
    let content: Buffer;
    try {
      content = await readFile(join(userHome, file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new KageError('KAGE_INVALID_CONFIG', `Cannot read the agent's login file ${join(userHome, file)}: ${(err as Error).message}`,
        { field: 'agents.auth', details: { file } });
    }
    const target = join(home, file);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    // Whatever a previous attempt left there goes first: a link it planted must not be written through.
    await rm(target, { force: true });
    await writeFile(target, content, { mode: 0o600, flag: 'wx' });
    await chmod(target, 0o600);
    copied.push(file);
  }
  return copied;
}

/** Removes the copies `copyLoginFiles` made (and whatever the agent left under their names). */
export async function removeLoginFiles(home: string, files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => rm(join(home, file), { force: true })));
}
