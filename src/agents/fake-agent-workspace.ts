// File access for the fake agent, confined to its working directory.
import { lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class OutsideCwdError extends Error {
  constructor(readonly file: string) {
    super(`Refusing to touch ${JSON.stringify(file)}: it resolves outside the working directory`);
  }
}

export interface FakeWorkspace {
  readonly cwd: string;
  /** Absolute path of `file`; throws OutsideCwdError when it escapes the working directory. */
  resolve(file: string): string;
  /** The file's text, or null when it does not exist. */
  read(file: string): string | null;
  write(file: string, content: string): string;
}

export function createFakeWorkspace(cwd: string): FakeWorkspace {
  const root = realpathSync(cwd);

  function resolve(file: string): string {
    const target = path.resolve(cwd, file);
    // Symlinks count: resolve the deepest existing ancestor so a link inside cwd cannot lead outside it.
    const rest: string[] = [];
    let existing = target;
    while (lstatSync(existing, { throwIfNoEntry: false }) === undefined) {
      const parent = path.dirname(existing);
      if (parent === existing) break;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
    let real: string;
    try {
      real = path.join(realpathSync(existing), ...rest);
    } catch {
      throw new OutsideCwdError(file);
    }
    const rel = path.relative(root, real);
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw new OutsideCwdError(file);
    }
    return target;
  }

  return {
    cwd,
    resolve,
    read(file) {
      const abs = resolve(file);
      try {
        return readFileSync(abs, 'utf8');
      } catch {
        return null;
      }
    },
    write(file, content) {
      const abs = resolve(file);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      return abs;
    },
  };
}
