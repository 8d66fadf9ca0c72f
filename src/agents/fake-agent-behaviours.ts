// What each fake-agent behaviour does, as the stream-json lines a real Claude Code run would print.
import { spawn } from 'node:child_process';
import { ZERO_USAGE } from '../domain/index.js';
import { DEMO_BUG_FILE, DEMO_BUGGY_LINE, DEMO_FIXED_LINE } from './demo-repo-files.js';
import type { FakeArgs } from './fake-agent-args.js';
import type { FakeStream } from './fake-agent-stream.js';
import type { FakeWorkspace } from './fake-agent-workspace.js';
import { FAKE_DEFAULTS, type FakeBehaviour } from './fake-behaviours.js';

export interface FakeContext {
  args: FakeArgs;
  stream: FakeStream;
  workspace: FakeWorkspace;
}

/** Runs after `init`; resolves to the exit code. */
type Runner = (ctx: FakeContext) => Promise<number>;

async function writeFile({ args, stream, workspace }: FakeContext): Promise<number> {
  const file = args.file ?? FAKE_DEFAULTS.file;
  const abs = workspace.resolve(file);
  const id = await stream.toolUse('Write', { file_path: abs, content: args.content });
  workspace.write(file, args.content);
  await stream.toolResult(id, `File created successfully at: ${abs}`);
  const text = `Done. I wrote ${file}.`;
  await stream.text(text);
  await stream.result({ isError: false, text });
  return 0;
}

async function fix({ args, stream, workspace }: FakeContext): Promise<number> {
  const file = args.file ?? DEMO_BUG_FILE;
  const abs = workspace.resolve(file);
  const readId = await stream.toolUse('Read', { file_path: abs });
  const before = workspace.read(file);
  if (before === null) {
    await stream.toolResult(readId, `File does not exist: ${abs}`, true);
    return finish(stream, `I could not find ${file}, so I changed nothing.`);
  }
  await stream.toolResult(readId, before);
  if (!before.includes(DEMO_BUGGY_LINE)) return finish(stream, `I found no bug to fix in ${file}.`);
  const editId = await stream.toolUse('Edit', { file_path: abs, old_string: DEMO_BUGGY_LINE, new_string: DEMO_FIXED_LINE });
  workspace.write(file, before.replace(DEMO_BUGGY_LINE, DEMO_FIXED_LINE));
  await stream.toolResult(editId, `The file ${abs} has been updated successfully.`);
  return finish(stream, `Fixed add() in ${file}: it subtracted instead of adding.`);
}

async function wrong({ stream, workspace }: FakeContext): Promise<number> {
  const file = 'README.md';
  const content = `${workspace.read(file) ?? ''}\nThe add function has been reviewed and works.\n`;
  const abs = workspace.resolve(file);
  const id = await stream.toolUse('Write', { file_path: abs, content });
  workspace.write(file, content);
  await stream.toolResult(id, `The file ${abs} has been updated successfully.`);
  return finish(stream, 'Fixed the bug. All tests should pass now.');
}

async function noop({ stream }: FakeContext): Promise<number> {
  return finish(stream, 'I looked at the code and found nothing to change.');
}

async function crash({ stream }: FakeContext): Promise<number> {
  await stream.text('Starting on the task.');
  // A record cut off mid-line, as when the process dies while writing.
  await stream.raw('{"type":"assistant","message":{"id":"msg_fake_crash","content":[{"type":"text","text":"half');
  process.stderr.write('fake agent: simulated crash\n', () => process.exit(1));
  return new Promise<number>(() => {});
}

async function hang({ stream, workspace }: FakeContext): Promise<number> {
  // Ignoring SIGTERM (here and in the child) forces the supervisor's SIGKILL of the whole group.
  process.on('SIGTERM', () => {});
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM',()=>{});setInterval(()=>{},1000)"], { stdio: 'ignore' });
  await stream.record({ type: 'system', subtype: 'fake_child', pid: child.pid ?? null, session_id: stream.sessionId });
  // Also on disk, so a test can find the grandchild from the clone's committed leftovers.
  workspace.write('.fake-child.pid', `${child.pid ?? ''}\n`);
  await stream.text('Thinking...');
  setInterval(() => {}, 60_000);
  return new Promise<number>(() => {});
}

async function flood({ args, stream }: FakeContext): Promise<number> {
  const total = args.floodBytes;
  const longChars = Math.min(5 * 1024 * 1024, Math.floor(total / 2));
  let written = 0;
  if (longChars > 0) {
    await stream.text('x'.repeat(longChars));
    written += longChars;
  }
  const line = `${JSON.stringify({
    type: 'assistant',
    message: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'flood '.repeat(160) }] },
    session_id: stream.sessionId,
  })}\n`;
  const chunk = line.repeat(Math.max(1, Math.floor(65_536 / line.length)));
  while (written < total) {
    await stream.raw(chunk);
    written += chunk.length;
  }
  return finish(stream, `Printed ${written} bytes.`);
}

async function apiError({ args, stream }: FakeContext): Promise<number> {
  const text = `API Error: ${args.errorStatus} fake ${args.errorStatus} error`;
  await stream.apiErrorMessage(args.errorStatus, text);
  await stream.result({ isError: true, text, apiErrorStatus: args.errorStatus, usage: ZERO_USAGE });
  return 1;
}

async function budget(ctx: FakeContext): Promise<number> {
  for (let step = 1; step <= 3; step += 1) await ctx.stream.text(`Working on step ${step} of 3.`);
  return writeFile(ctx);
}

async function finish(stream: FakeStream, text: string): Promise<number> {
  await stream.text(text);
  await stream.result({ isError: false, text });
  return 0;
}

export const FAKE_RUNNERS: Readonly<Record<FakeBehaviour, Runner>> = {
  ok: writeFile,
  write: writeFile,
  slow: writeFile,
  conflict: writeFile,
  fix,
  wrong,
  noop,
  crash,
  hang,
  flood,
  error: apiError,
  budget,
};
