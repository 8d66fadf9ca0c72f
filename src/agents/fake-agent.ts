#!/usr/bin/env node
// A scripted coding agent for tests and the demo: a real executable that prints Claude Code's stream-json
// dialect, so the real parser and supervisor run against it. The prompt is data only; behaviour comes from
// `--behaviour` (or KAGE_FAKE_BEHAVIOUR), and every write stays inside the working directory.
import { ZERO_USAGE } from '../domain/index.js';
import { FakeArgsError, parseFakeArgs, type FakeArgs } from './fake-agent-args.js';
import { FAKE_RUNNERS } from './fake-agent-behaviours.js';
import { createFakeStream } from './fake-agent-stream.js';
import { createFakeWorkspace, OutsideCwdError } from './fake-agent-workspace.js';
import { FAKE_BEHAVIOURS, isFakeBehaviour } from './fake-behaviours.js';

const VERSION = '1.0.0 (kage fake agent, Claude Code stream-json)';

async function main(argv: readonly string[]): Promise<number> {
  let args: FakeArgs;
  try {
    args = parseFakeArgs(argv);
  } catch (err) {
    if (!(err instanceof FakeArgsError)) throw err;
    process.stderr.write(`fake-agent: ${err.message}\n`);
    return 2;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const behaviour = args.behaviour ?? process.env.KAGE_FAKE_BEHAVIOUR ?? 'ok';
  if (!isFakeBehaviour(behaviour)) {
    process.stderr.write(`fake-agent: unknown behaviour ${JSON.stringify(behaviour)}; valid: ${FAKE_BEHAVIOURS.join(', ')}\n`);
    return 2;
  }

  const cwd = process.cwd();
  const workspace = createFakeWorkspace(cwd);
  const stream = createFakeStream({
    out: process.stdout,
    cwd,
    model: args.model,
    usage: args.usage,
    delayMs: behaviour === 'slow' ? args.delayMs : 0,
  });
  await stream.init();
  try {
    if (args.file !== null) workspace.resolve(args.file);
    return await FAKE_RUNNERS[behaviour]({ args, stream, workspace });
  } catch (err) {
    if (!(err instanceof OutsideCwdError)) throw err;
    process.stderr.write(`fake-agent: ${err.message}\n`);
    await stream.result({ isError: true, text: err.message, usage: ZERO_USAGE });
    return 2;
  }
}

// The reader may close stdout early (byte cap, kill); stop quietly instead of crashing on EPIPE.
process.stdout.on('error', () => process.exit(1));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fake-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
