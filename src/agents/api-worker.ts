#!/usr/bin/env node
// kage's own small coding agent: a tool-using loop against a model API (`--provider ollama|anthropic|openai`), confined to
// its working directory, printing one JSON record per line (the format is in api-worker/records.ts).
// Exit codes: 0 the model finished, 1 the run failed (reported as `error` and `result` lines), 2 bad usage.
import { parseWorkerArgs, WorkerArgsError, type WorkerArgs } from './api-worker/args.js';
import { runAgentLoop } from './api-worker/loop.js';
import { createRecordWriter, type RecordWriter } from './api-worker/output.js';
import { createProvider, PROVIDER_NAMES } from './api-worker/providers/index.js';
import { createWorkspace } from './api-worker/tools/workspace.js';

const VERSION = '1.0.0 (kage API worker)';

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const out = createRecordWriter(process.stdout);
  let args: WorkerArgs;
  try {
    args = parseWorkerArgs(argv);
  } catch (err) {
    if (!(err instanceof WorkerArgsError)) throw err;
    return usageError(out, err.message);
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const options = { env, connectTimeoutMs: args.connectTimeoutMs, requestTimeoutMs: args.requestTimeoutMs };
  const provider = createProvider(args.provider, options);
  if (provider === null) {
    return usageError(out, `unknown provider ${JSON.stringify(args.provider)}; providers: ${PROVIDER_NAMES.join(', ')}`);
  }
  const ok = await runAgentLoop({
    provider,
    providerName: args.provider,
    model: args.model,
    prompt: args.prompt,
    maxTurns: args.maxTurns,
    maxTokens: args.maxTokens,
    tools: { workspace: createWorkspace(process.cwd()), commandTimeoutMs: args.commandTimeoutMs, env },
    out,
  });
  return ok ? 0 : 1;
}

/** Bad usage is reported in the stream too, so whoever reads only stdout still sees why. */
async function usageError(out: RecordWriter, message: string): Promise<number> {
  process.stderr.write(`api-worker: ${message}\n`);
  await out.write({ type: 'error', kind: 'unknown', status: null, message: `api-worker: ${message}` });
  await out.write({ type: 'result', ok: false, text: `api-worker: ${message}`, num_turns: 0, duration_ms: 0 });
  return 2;
}

// The reader may close stdout early (byte cap, kill); stop quietly instead of crashing on EPIPE.
process.stdout.on('error', () => process.exit(1));

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`api-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
