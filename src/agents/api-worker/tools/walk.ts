// Lists the files under a directory of the worktree for list_files and search: symlinks are never
// followed, and `.git` and `node_modules` are skipped (huge, and never what a task is about).
import { readdirSync } from 'node:fs';
import path from 'node:path';

const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export interface WalkResult {
  /** Absolute paths, in sorted order per directory. */
  files: string[];
  /** More files existed than `maxFiles`. */
  truncated: boolean;
}

export function walkFiles(dir: string, maxFiles: number): WalkResult {
  const files: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.shift()!;
    const entries = readdirSync(current, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const abs = path.join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) subdirs.push(abs);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (files.length >= maxFiles) return { files, truncated: true };
        files.push(abs);
      }
    }
    pending.unshift(...subdirs);
  }
  return { files, truncated: false };
}
