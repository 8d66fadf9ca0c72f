// The search tool: plain-text line search over the worktree, bounded in files read, matches and line length.
import { readFileSync, statSync } from 'node:fs';
import { walkFiles } from './walk.js';
import { ToolError, type Workspace } from './workspace.js';

export const MAX_SEARCH_MATCHES = 100;
const MAX_SEARCHED_FILES = 5_000;
const MAX_SEARCHED_FILE_BYTES = 1024 * 1024;
const MAX_LINE_CHARS = 200;

export function searchTool(ws: Workspace, text: string, dir: string): string {
  if (text === '') throw new ToolError('text must not be empty');
  const abs = ws.resolve(dir);
  const stat = statSync(abs, { throwIfNoEntry: false });
  if (stat === undefined) throw new ToolError(`${dir}: no such file or directory`);
  const { files, truncated } = stat.isDirectory() ? walkFiles(abs, MAX_SEARCHED_FILES) : { files: [abs], truncated: false };
  const matches: string[] = [];
  for (const file of files) {
    const content = readSearchable(ws, file);
    if (content === null || !content.includes(text)) continue;
    const lines = content.split('\n');
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i] ?? '';
      if (!line.includes(text)) continue;
      if (matches.length >= MAX_SEARCH_MATCHES) {
        return `${matches.join('\n')}\n[... more matches not shown; search a narrower path or text]`;
      }
      matches.push(`${ws.display(file)}:${i + 1}: ${clip(line.trim())}`);
    }
  }
  if (truncated) matches.push(`[... only the first ${MAX_SEARCHED_FILES} files were searched]`);
  return matches.length === 0 ? 'No matches' : matches.join('\n');
}

/** The file's text, or null for binaries, huge files and symlinks leading out of the worktree. */
function readSearchable(ws: Workspace, file: string): string | null {
  let real: string;
  try {
    real = ws.resolve(file);
  } catch {
    return null;
  }
  const stat = statSync(real, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile() || stat.size > MAX_SEARCHED_FILE_BYTES) return null;
  const bytes = readFileSync(real);
  return bytes.subarray(0, 8192).includes(0) ? null : bytes.toString('utf8');
}

function clip(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS - 1)}…`;
}
