// The file tools: read_file, write_file, edit_file and list_files, every path confined by the workspace.
import { mkdirSync, readFileSync, statSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { walkFiles } from './walk.js';
import { ToolError, type Workspace } from './workspace.js';

/** Largest file read_file returns whole; longer ones are cut with a note. */
export const MAX_READ_BYTES = 256 * 1024;
/** Most entries list_files returns. */
export const MAX_LISTED_FILES = 1_000;

export function readFileTool(ws: Workspace, file: string): string {
  const abs = ws.resolve(file);
  const stat = statOrNull(abs);
  if (stat === null) throw new ToolError(`${file}: no such file`);
  if (stat.isDirectory()) throw new ToolError(`${file} is a directory; use list_files`);
  const bytes = readFileSync(abs);
  if (bytes.subarray(0, 8192).includes(0)) throw new ToolError(`${file} is a binary file`);
  if (bytes.length <= MAX_READ_BYTES) return bytes.toString('utf8');
  return `${bytes.subarray(0, MAX_READ_BYTES).toString('utf8')}\n[... cut: the file has ${bytes.length} bytes, only the first ${MAX_READ_BYTES} are shown]`;
}

export function writeFileTool(ws: Workspace, file: string, content: string): string {
  const abs = writableTarget(ws, file);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  return `Wrote ${Buffer.byteLength(content)} bytes to ${ws.display(abs)}`;
}

export function editFileTool(ws: Workspace, file: string, oldText: string, newText: string): string {
  if (oldText === '') throw new ToolError('old_text must not be empty');
  const abs = writableTarget(ws, file);
  if (statOrNull(abs)?.isFile() !== true) throw new ToolError(`${file}: no such file`);
  const text = readFileSync(abs, 'utf8');
  const first = text.indexOf(oldText);
  if (first === -1) throw new ToolError(`old_text was not found in ${file}; read the file and copy the text exactly`);
  if (text.indexOf(oldText, first + 1) !== -1) {
    throw new ToolError(`old_text occurs more than once in ${file}; include more surrounding lines to make it unique`);
  }
  writeFileSync(abs, text.slice(0, first) + newText + text.slice(first + oldText.length));
  return `Edited ${ws.display(abs)}`;
}

export function listFilesTool(ws: Workspace, dir: string): string {
  const abs = ws.resolve(dir);
  if (statOrNull(abs)?.isDirectory() !== true) throw new ToolError(`${dir}: no such directory`);
  const { files, truncated } = walkFiles(abs, MAX_LISTED_FILES);
  const lines = files.map((f) => ws.display(f));
  if (truncated) lines.push(`[... more files not shown; list a subdirectory]`);
  return lines.length === 0 ? '(no files)' : lines.join('\n');
}

/**
 * Writes never touch `.git`: the worktree's link to its repository (and a clone's hooks) are not the task's to
 * change. Compared without case, since on a case-insensitive file system `.GIT` is the same directory.
 */
function writableTarget(ws: Workspace, file: string): string {
  const abs = ws.resolve(file);
  if (ws.display(abs).split('/')[0]?.toLowerCase() === '.git') throw new ToolError(`Refusing to write ${JSON.stringify(file)}: .git is off limits`);
  if (statOrNull(abs)?.isDirectory() === true) throw new ToolError(`${file} is a directory`);
  return abs;
}

function statOrNull(abs: string): Stats | null {
  return statSync(abs, { throwIfNoEntry: false }) ?? null;
}
