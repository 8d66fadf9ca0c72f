// Picks the agent's own tool for a scenario from the tools a request offers, and builds its arguments.
// Each CLI names its tools and their path parameter differently (see the comments below); matching on
// name and parameters, not on which CLI sent the request, keeps this one table.
import path from 'node:path';
import type { OfferedTool } from './conversation.js';
import { DEFAULT_CONTENT, DEFAULT_FILE } from './scenario.js';

/** A tool call the mock model makes. */
export type PlannedCall =
  | { kind: 'function'; name: string; arguments: Record<string, unknown> }
  /** A Responses freeform tool call: `input` is the raw string (Codex's apply_patch grammar). */
  | { kind: 'custom'; name: string; input: string };

/** Names of file-writing tools that take a path and `content`:
 * Claude Code `Write` {file_path (absolute), content}; Gemini CLI and Qwen Code `write_file` {file_path (absolute),
 * content}; OpenCode `write` {filePath (absolute), content}; kage's API worker `write_file` {path (relative), content}. */
const WRITE_TOOL_NAMES = new Set(['write', 'write_file', 'writefile', 'create_file']);
/** Path parameters whose value must be absolute. */
const ABSOLUTE_PATH_PARAMS = ['file_path', 'filePath', 'absolute_path'];
/** Path parameters that are relative to the working directory (kage's API worker). */
const RELATIVE_PATH_PARAMS = ['path'];

/**
 * The call that creates `file` with `content`, or null when no write tool is offered. `cwd` (from the
 * request text) makes absolute paths; without it the file name is passed as it is.
 */
export function writeCall(tools: readonly OfferedTool[], file: string, content: string, cwd: string | null): PlannedCall | null {
  const absolute = path.isAbsolute(file) ? file : cwd === null ? file : path.join(cwd, file);
  // Codex offers apply_patch as a freeform custom tool for catalogued model slugs (`-m gpt-5.5`); its paths
  // are relative to the turn's cwd. Some Codex model families get it as a JSON function {input} instead.
  const patch = tools.find((t) => t.name === 'apply_patch');
  if (patch?.kind === 'custom') return { kind: 'custom', name: patch.name, input: addFilePatch(file, content) };
  if (patch !== undefined && patch.parameters.includes('input')) {
    return { kind: 'function', name: patch.name, arguments: { input: addFilePatch(file, content) } };
  }

  for (const tool of tools) {
    if (tool.kind !== 'function' || !WRITE_TOOL_NAMES.has(tool.name.toLowerCase()) || !tool.parameters.includes('content')) continue;
    const absoluteParam = ABSOLUTE_PATH_PARAMS.find((p) => tool.parameters.includes(p));
    if (absoluteParam !== undefined) return { kind: 'function', name: tool.name, arguments: { [absoluteParam]: absolute, content } };
    const relativeParam = RELATIVE_PATH_PARAMS.find((p) => tool.parameters.includes(p));
    if (relativeParam !== undefined) return { kind: 'function', name: tool.name, arguments: { [relativeParam]: file, content } };
  }

  // Codex with an unknown model slug offers no file tool, only `exec_command` {cmd, workdir, …}; older
  // Codex versions call it `shell` {command: argv}. Both run in the turn's cwd, so a relative path works
  // too, but the absolute one shows in the transcript which worktree was written.
  const script = writeScript(absolute, content, path.dirname(file) !== '.');
  const exec = tools.find((t) => t.kind === 'function' && t.name === 'exec_command' && t.parameters.includes('cmd'));
  if (exec !== undefined) return { kind: 'function', name: exec.name, arguments: { cmd: script } };
  const shell = tools.find((t) => t.kind === 'function' && t.name === 'shell' && t.parameters.includes('command'));
  if (shell !== undefined) return { kind: 'function', name: shell.name, arguments: { command: ['bash', '-lc', script] } };
  return null;
}

/**
 * Harmless read-only tools for `loop`, tried in order. Each turn's arguments differ (`turn` counts the tool
 * results so far): Gemini CLI stops a run by itself after 5 identical tool calls in a row.
 */
const LOOP_TOOLS: ReadonlyArray<{ name: string; param: string | null; build: (turn: number, cwd: string | null) => Record<string, unknown> }> = [
  { name: 'list_files', param: null, build: () => ({}) }, // kage's API worker: {path?}
  { name: 'glob', param: 'pattern', build: (turn) => ({ pattern: `mock-loop-${turn}*` }) }, // OpenCode, Gemini CLI, Qwen Code
  { name: 'Glob', param: 'pattern', build: (turn) => ({ pattern: `mock-loop-${turn}*` }) }, // older Claude Code
  { name: 'list_directory', param: 'dir_path', build: (_turn, cwd) => ({ dir_path: cwd ?? '.' }) }, // Gemini CLI
  { name: 'list_directory', param: 'path', build: (_turn, cwd) => ({ path: cwd ?? '.' }) }, // Qwen Code 0.15
  // Agents with no listing tool (Claude Code 2.1.332, Codex) get their shell.
  { name: 'exec_command', param: 'cmd', build: (turn) => ({ cmd: `echo mock loop ${turn}` }) }, // Codex
  { name: 'shell', param: 'command', build: (turn) => ({ command: ['echo', `mock loop ${turn}`] }) }, // older Codex
  { name: 'Bash', param: 'command', build: (turn) => ({ command: `echo mock loop ${turn}`, description: 'Print a line' }) }, // Claude Code
  { name: 'bash', param: 'command', build: (turn) => ({ command: `echo mock loop ${turn}`, description: 'Print a line' }) }, // OpenCode
  { name: 'run_shell_command', param: 'command', build: (turn) => ({ command: `echo mock loop ${turn}` }) }, // Gemini CLI, Qwen Code
  { name: 'run_command', param: 'argv', build: (turn) => ({ argv: ['echo', `mock loop ${turn}`] }) }, // kage's API worker
];

/** The call `loop` makes on turn `turn` (1-based): a harmless listing if offered, else the write tool again; null when neither. */
export function loopCall(tools: readonly OfferedTool[], turn: number, cwd: string | null): PlannedCall | null {
  for (const candidate of LOOP_TOOLS) {
    const tool = tools.find((t) => t.kind === 'function' && t.name === candidate.name && (candidate.param === null || t.parameters.includes(candidate.param)));
    if (tool !== undefined) return { kind: 'function', name: tool.name, arguments: candidate.build(turn, cwd) };
  }
  return writeCall(tools, DEFAULT_FILE, DEFAULT_CONTENT, cwd);
}

/** Codex's apply_patch grammar for a new file: every line prefixed with `+`. */
export function addFilePatch(file: string, content: string): string {
  const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n');
  return `*** Begin Patch\n*** Add File: ${file}\n${lines.map((line) => `+${line}\n`).join('')}*** End Patch\n`;
}

/**
 * A shell command that writes exactly `content` to `file`: a quoted heredoc when the content ends with a
 * newline (a heredoc always does), else printf. `createDir` first makes the parent directory, as the
 * agents' own write tools do.
 */
export function writeScript(file: string, content: string, createDir = false): string {
  const target = shellQuote(file);
  const mkdir = createDir ? `mkdir -p ${shellQuote(path.dirname(file))} && ` : '';
  const lines = content.split('\n');
  if (content.endsWith('\n') && !lines.includes('MOCK_EOF')) return `${mkdir}cat > ${target} <<'MOCK_EOF'\n${content}MOCK_EOF`;
  return `${mkdir}printf '%s' ${shellQuote(content)} > ${target}`;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
