// Runs one tool call from the model: checks its arguments, dispatches by name, and turns every failure
// into an error result the model can read, never an exception that ends the run.
import { editFileTool, listFilesTool, readFileTool, writeFileTool } from './files.js';
import { runCommandTool } from './run-command.js';
import { searchTool } from './search.js';
import { isToolName, TOOL_SPECS } from './specs.js';
import { ToolError, type Workspace } from './workspace.js';

export interface ToolContext {
  workspace: Workspace;
  /** Default and upper bound of run_command's timeout. */
  commandTimeoutMs: number;
  /** Environment of the programs run_command starts. */
  env: NodeJS.ProcessEnv;
}

export interface ToolOutcome {
  output: string;
  isError: boolean;
}

export async function runTool(name: string, input: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  try {
    if (!isToolName(name)) throw new ToolError(`Unknown tool ${JSON.stringify(name)}; tools: ${TOOL_SPECS.map((s) => s.name).join(', ')}`);
    const args = objectArg(input);
    const ws = ctx.workspace;
    switch (name) {
      case 'read_file':
        return ok(readFileTool(ws, text(args, 'path')));
      case 'write_file':
        return ok(writeFileTool(ws, text(args, 'path'), text(args, 'content')));
      case 'edit_file':
        return ok(editFileTool(ws, text(args, 'path'), text(args, 'old_text'), text(args, 'new_text')));
      case 'list_files':
        return ok(listFilesTool(ws, optionalText(args, 'path') ?? '.'));
      case 'search':
        return ok(searchTool(ws, text(args, 'text'), optionalText(args, 'path') ?? '.'));
      case 'run_command': {
        const seconds = args.timeout_seconds;
        const askedMs = typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : ctx.commandTimeoutMs;
        const result = await runCommandTool(ws, argvArg(args), { timeoutMs: Math.min(askedMs, ctx.commandTimeoutMs), env: ctx.env });
        return { output: result.output, isError: result.failed };
      }
    }
  } catch (err) {
    if (err instanceof ToolError) return { output: err.message, isError: true };
    const code = (err as NodeJS.ErrnoException).code;
    return { output: `${name} failed: ${code ?? ''}${code ? ' ' : ''}${(err as Error).message}`, isError: true };
  }
}

function ok(output: string): ToolOutcome {
  return { output, isError: false };
}

function objectArg(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input === 'object' && !Array.isArray(input)) return input as Record<string, unknown>;
  throw new ToolError(`Expected the arguments to be an object, got ${JSON.stringify(input)}`);
}

function text(args: Record<string, unknown>, key: string): string {
  const value = args[key];
  if (typeof value === 'string') return value;
  throw new ToolError(`Expected \`${key}\` to be a string, got ${JSON.stringify(value) ?? 'nothing'}`);
}

function optionalText(args: Record<string, unknown>, key: string): string | undefined {
  return args[key] === undefined || args[key] === null || args[key] === '' ? undefined : text(args, key);
}

function argvArg(args: Record<string, unknown>): string[] {
  const value = args.argv;
  if (Array.isArray(value) && value.length > 0 && value.every((el) => typeof el === 'string')) return value as string[];
  throw new ToolError(`Expected \`argv\` to be a non-empty array of strings (no shell), got ${JSON.stringify(value) ?? 'nothing'}`);
}
