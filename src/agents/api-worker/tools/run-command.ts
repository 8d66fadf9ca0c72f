// The run_command tool: one program from an argv array (never a shell) in the worktree, with a timeout
// and a cap on the output kept. The program stays in the worker's process group, so whatever it leaves
// running is killed with the clone.
import { spawn } from 'node:child_process';
import { ToolError, type Workspace } from './workspace.js';

/** Output kept from the start and from the end of a long run; the middle is dropped. */
export const COMMAND_OUTPUT_HEAD_BYTES = 16 * 1024;
export const COMMAND_OUTPUT_TAIL_BYTES = 16 * 1024;

export interface CommandResult {
  output: string;
  /** Non-zero exit, signal or timeout. */
  failed: boolean;
}

export function runCommandTool(
  ws: Workspace,
  argv: readonly string[],
  opts: { timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  const [program, ...args] = argv;
  if (program === undefined || program === '') throw new ToolError('argv must name a program');
  return new Promise((resolve) => {
    const output = createCappedOutput();
    const child = spawn(program, args, { cwd: ws.root, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      // A grandchild may hold the pipes open; stop reading so `close` comes now.
      child.stdout.destroy();
      child.stderr.destroy();
    }, opts.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ output: `Could not run ${JSON.stringify(program)}: ${err.message}`, failed: true });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const status = timedOut
        ? `Killed after the ${opts.timeoutMs / 1000} s timeout`
        : signal !== null
          ? `Killed by ${signal}`
          : `Exit code ${code}`;
      const text = output.text();
      resolve({ output: text === '' ? status : `${status}\n${text}`, failed: timedOut || code !== 0 });
    });
  });
}

function createCappedOutput(): { push(chunk: Buffer): void; text(): string } {
  const head: Buffer[] = [];
  let headBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  let dropped = 0;
  return {
    push(chunk) {
      if (headBytes < COMMAND_OUTPUT_HEAD_BYTES) {
        const part = chunk.subarray(0, COMMAND_OUTPUT_HEAD_BYTES - headBytes);
        head.push(part);
        headBytes += part.length;
        chunk = chunk.subarray(part.length);
      }
      if (chunk.length === 0) return;
      const joined = Buffer.concat([tail, chunk]);
      const excess = Math.max(0, joined.length - COMMAND_OUTPUT_TAIL_BYTES);
      dropped += excess;
      tail = joined.subarray(excess);
    },
    text() {
      const start = Buffer.concat(head).toString('utf8');
      const end = tail.toString('utf8');
      return dropped === 0 ? start + end : `${start}\n[... ${dropped} bytes of output dropped ...]\n${end}`;
    },
  };
}
