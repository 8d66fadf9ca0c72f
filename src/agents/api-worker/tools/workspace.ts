// Confines every path a tool touches to the worktree: `..`, absolute paths elsewhere and symlinks that lead
// out are refused. Checked against real paths, so a link committed inside the repo cannot be a way out.
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A tool failure reported to the model as an error result; the run goes on. */
export class ToolError extends Error {}

export interface Workspace {
  /** Real path of the worktree. */
  readonly root: string;
  /** Absolute path of `file` inside the worktree; throws ToolError when it resolves outside. */
  resolve(file: string): string;
  /** `abs` relative to the root, with `/` separators (`.` for the root itself). */
  display(abs: string): string;
}

export function createWorkspace(cwd: string): Workspace {
  const root = realpathSync(cwd);

  function inside(real: string): boolean {
    const rel = path.relative(root, real);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  }

  function resolve(file: string): string {
    if (typeof file !== 'string' || file === '' || file.includes('\0')) throw new ToolError(`Invalid path ${JSON.stringify(file)}`);
    const target = path.resolve(root, file);
    if (!inside(target)) throw new ToolError(`Refusing ${JSON.stringify(file)}: it is outside the working directory`);
    // The target may not exist yet: resolve its deepest existing ancestor, then append the rest.
    const rest: string[] = [];
    let existing = target;
    let real: string;
    try {
      while (lstatSync(existing, { throwIfNoEntry: false }) === undefined) {
        rest.unshift(path.basename(existing));
        existing = path.dirname(existing);
      }
      real = path.join(realpathSync(existing), ...rest);
    } catch (err) {
      // A dangling or looping symlink (ELOOP already from lstat when a loop is a parent): unknown ground.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw new ToolError(`Refusing ${JSON.stringify(file)}: it is a broken symbolic link`);
      throw err;
    }
    if (!inside(real)) throw new ToolError(`Refusing ${JSON.stringify(file)}: a symbolic link leads outside the working directory`);
    return real;
  }

  return {
    root,
    resolve,
    display: (abs) => path.relative(root, abs).split(path.sep).join('/') || '.',
  };
}
