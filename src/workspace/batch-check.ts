// A long-lived `git cat-file --batch-check` for one repository: names resolve to object ids over a pipe,
// one line each, instead of one git process per question. git reads refs afresh for every line (loose
// refs from disk, packed-refs and packs again when they changed), so the answers follow commits, new
// branches and repacks made after the process started.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { gitEnv, type ObjectKind } from './git.js';

export interface BatchCheck {
  /** The id of `name` as a `kind`; null when it names none, or when the process failed or timed out. */
  resolve(name: string, kind: ObjectKind): Promise<string | null>;
  /** Ends the process (a later `resolve` starts a new one) and waits for it to exit. */
  close(): Promise<void>;
}

export interface BatchCheckOptions {
  /** An answer slower than this kills the process: every question waiting on it gets null. */
  answerTimeoutMs?: number;
  /** How long `close` waits for git to exit after its stdin closed, before SIGKILL. */
  exitGraceMs?: number;
}

interface Proc {
  child: ChildProcessByStdio<Writable, Readable, null>;
  /** Answer callbacks in the order their lines were written; git answers in that order. */
  waiting: ((line: string | null) => void)[];
  buffer: string;
  exited: Promise<void>;
}

const ANSWER = /^([0-9a-f]{40}|[0-9a-f]{64}) (\w+)$/;

export function createBatchCheck(repo: string, opts: BatchCheckOptions = {}): BatchCheck {
  const answerTimeoutMs = opts.answerTimeoutMs ?? 5000;
  const exitGraceMs = opts.exitGraceMs ?? 2000;
  let proc: Proc | null = null;

  function start(): Proc {
    const child = spawn('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
      cwd: repo,
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let onExit: () => void = () => undefined;
    const p: Proc = { child, waiting: [], buffer: '', exited: new Promise((resolve) => (onExit = resolve)) };
    const end = (): void => {
      if (proc === p) proc = null;
      for (const answer of p.waiting.splice(0)) answer(null);
      onExit();
    };
    child.on('error', end);
    child.on('close', end);
    // A write racing the process's exit fails with EPIPE; the exit answers the question.
    child.stdin.on('error', () => undefined);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      p.buffer += chunk;
      for (let nl = p.buffer.indexOf('\n'); nl >= 0; nl = p.buffer.indexOf('\n')) {
        const line = p.buffer.slice(0, nl);
        p.buffer = p.buffer.slice(nl + 1);
        p.waiting.shift()?.(line);
      }
      idle(p);
    });
    // Idle, the process must not keep node alive: a caller that never closes still exits, and git then
    // exits on the end of its stdin.
    child.unref();
    idle(p);
    return p;
  }

  /** Holds the event loop open only while answers are awaited. */
  function idle(p: Proc): void {
    const pipes = [p.child.stdout, p.child.stdin] as unknown as { ref(): void; unref(): void }[];
    for (const pipe of pipes) {
      if (p.waiting.length > 0) pipe.ref();
      else pipe.unref();
    }
  }

  function ask(line: string): Promise<string | null> {
    const p = (proc ??= start());
    return new Promise((resolve) => {
      const timer = setTimeout(() => p.child.kill('SIGKILL'), answerTimeoutMs);
      p.waiting.push((answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      idle(p);
      p.child.stdin.write(`${line}\n`);
    });
  }

  return {
    async resolve(name, kind) {
      // One line is one question: a line break would shift every later answer.
      if (name === '' || /[\n\r\0]/.test(name)) return null;
      const match = ANSWER.exec((await ask(`${name}^{${kind}}`)) ?? '');
      return match?.[1] !== undefined && match[2] === kind ? match[1] : null;
    },

    async close() {
      const p = proc;
      if (!p) return;
      proc = null;
      p.child.stdin.end();
      const kill = setTimeout(() => p.child.kill('SIGKILL'), exitGraceMs);
      await p.exited;
      clearTimeout(kill);
    },
  };
}
