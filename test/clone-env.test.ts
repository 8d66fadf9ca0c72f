// No real key reaches a clone. kage is given real provider keys in its environment, its config file and its
// secrets store; the clones' model traffic goes through the gateway to kage's mock model server (behind a
// recording proxy that shows which key arrived upstream). The environment of the process kage starts for
// each clone, dumped by the process itself, and every file under the clone's private HOME hold none of them:
// the `shell` agent dumps its environment, and each genuine CLI runs behind a wrapper (its configured `bin`)
// that dumps the environment kage gave it and then runs the CLI, which does its work through the gateway.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findCliBinary } from '../src/agents/cli-binaries.js';
import { CLI_PINS, type PinnedAgentId } from '../src/agents/cli-pins.js';
import { isTerminalTask, type CloneRecord, type TaskRecord } from '../src/domain/index.js';
import type { Kage } from '../src/main/app.js';
import { startMockModelServer, type MockModelServer } from '../src/mock-model/index.js';
import { generateMasterKey } from '../src/secrets/master-key.js';
import { createSecretStore } from '../src/secrets/secrets.js';
import { PgStore } from '../src/store/pg-store.js';
import { runGit } from '../src/workspace/git.js';
import { freshDatabase, makeRepo, openKage, tempDir, waitFor } from './support/harness.js';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';

/** Each real key and where kage got it; the secret wins over the environment's Anthropic key for the gateway. */
const REAL = {
  anthropicEnv: 'sk-ant-real-from-env-5c1d9e',
  anthropicSecret: 'sk-ant-real-from-secrets-8b27f4',
  openaiEnv: 'sk-openai-real-from-env-31aa70',
  geminiFile: 'gemini-real-from-config-file-d04e62',
} as const;
/** The real keys, and the master key that opens the secrets store. */
const forbidden: string[] = Object.values(REAL);
const TOKEN = /^kgw_[A-Za-z0-9_-]{20,}$/;
const DUMP = 'agent-env.json';

/** Writes the process's environment as JSON into its working directory (the clone's worktree). */
const DUMP_SCRIPT = `require('fs').writeFileSync(${JSON.stringify(DUMP)}, JSON.stringify(process.env))`;

const CLIS: { agent: PinnedAgentId; model: string | null }[] = [
  { agent: 'claude-code', model: null },
  { agent: 'codex', model: 'mock-model' },
  { agent: 'gemini-cli', model: 'gemini-2.5-flash' },
  { agent: 'opencode', model: 'mock-model' },
  { agent: 'qwen-code', model: 'mock-model' },
];

let mock: MockModelServer;
let upstream: RecordingProxy;
let kage: Kage;

/** A wrapper that dumps its environment, then runs the real CLI with the same arguments and environment. */
function wrapper(dir: string, agent: PinnedAgentId): string {
  const real = findCliBinary(CLI_PINS[agent], { configured: null, pathEnv: process.env.PATH, agentsDir: inject('agentsDir') });
  if (real === null) throw new Error(`${agent} is not installed`);
  const path = join(dir, `${agent}-wrapper`);
  writeFileSync(path, `#!/bin/sh\n'${process.execPath}' -e '${DUMP_SCRIPT.replaceAll("'", "'\\''")}'\nexec '${real.path}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(async () => {
  mock = await startMockModelServer();
  upstream = await startRecordingProxy(mock.url);
  const databaseUrl = await freshDatabase();
  const home = tempDir('clone-env-home');
  const masterKey = generateMasterKey('test');
  forbidden.push(masterKey.bytes.toString('hex'));
  const store = new PgStore(databaseUrl, 2);
  try {
    await store.migrate();
    await createSecretStore({ pool: store.pool, masterKey, actor: 'test' }).set('anthropic', REAL.anthropicSecret);
  } finally {
    await store.close();
  }
  const bins = tempDir('clone-env-bins');
  writeFileSync(join(home, 'config.json'), JSON.stringify({
    providers: { gemini: { baseUrl: upstream.url, apiKey: REAL.geminiFile } },
    agents: Object.fromEntries(CLIS.map(({ agent }) => [agent, { bin: wrapper(bins, agent) }])),
  }));
  kage = await openKage({
    databaseUrl, home,
    env: {
      KAGE_MASTER_KEY: masterKey.bytes.toString('hex'),
      ANTHROPIC_BASE_URL: upstream.url, ANTHROPIC_API_KEY: REAL.anthropicEnv,
      OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: REAL.openaiEnv,
    },
  });
  await kage.runtime.start(4);
});

afterAll(async () => {
  await kage?.close();
  await upstream?.close();
  await mock?.close();
});

async function runClone(description: string, clone: Record<string, unknown>): Promise<{ task: TaskRecord; clone: CloneRecord }> {
  const { task } = await kage.tasks.createTask({ description, repo: await makeRepo(), maxRetries: 0, mergeStrategy: 'manual',
    clones: [{ timeoutSeconds: 120, ...clone }] });
  const done = await waitFor(`task ${task.id} to finish`, async () => {
    const t = await kage.ctx.store.getTask(task.id);
    return t && isTerminalTask(t.status) ? t : undefined;
  }, 150_000);
  return { task: done, clone: (await kage.ctx.store.getClones(task.id))[0]! };
}

/** The environment the clone's process dumped into its worktree, as committed on its branch. */
async function dumpedEnv(task: TaskRecord, clone: CloneRecord): Promise<Record<string, string>> {
  expect(clone.headCommit).not.toBeNull();
  const shown = await runGit(['show', `${clone.headCommit}:${DUMP}`], { cwd: task.repo });
  return JSON.parse(shown.stdout) as Record<string, string>;
}

/** The text of every file under the clone's private HOME, by path. */
function homeFiles(clone: CloneRecord): Map<string, string> {
  const home = join(kage.config.home, 'homes', clone.id);
  return new Map(readdirSync(home, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((file) => [file, readFileSync(file, 'latin1')]));
}

function realKeysIn(texts: Iterable<string>): string[] {
  const all = [...texts];
  return forbidden.filter((key) => all.some((text) => text.includes(key)));
}

describe('the environment and HOME of a clone', () => {
  it('hold no real key for the shell agent, whatever kage was given', async () => {
    const { task, clone } = await runClone('dump the environment', { agent: 'shell', options: { argv: [process.execPath, '-e', DUMP_SCRIPT] } });
    expect(clone.status, clone.error ?? '').toBe('succeeded');
    const env = await dumpedEnv(task, clone);
    expect(env.HOME).toBe(join(kage.config.home, 'homes', clone.id));
    expect(realKeysIn(Object.values(env))).toEqual([]);
    expect(realKeysIn(homeFiles(clone).values())).toEqual([]);
    // An agent that uses no model gets no key of any kind, not even a gateway token.
    expect(Object.keys(env).filter((name) => /API_KEY|TOKEN|SECRET/.test(name))).toEqual([]);
  });

  it.each(CLIS)('hold no real key for $agent, which gets the gateway\'s token and does its work through it', async ({ agent, model }) => {
    const before = upstream.exchanges.length;
    const { task, clone } = await runClone('create hello.txt [[mock:write file=hello.txt]]', { agent, ...(model ? { model } : {}) });
    expect(clone.status, clone.error ?? '').toBe('succeeded');
    expect(clone.diff?.files).toContain('hello.txt');

    const env = await dumpedEnv(task, clone);
    const files = homeFiles(clone);
    expect(realKeysIn(Object.values(env))).toEqual([]);
    expect(realKeysIn(files.values())).toEqual([]);
    // The clone's key is a gateway token (in its environment, or in the config file kage wrote for it), and
    // its endpoints are the gateway's.
    const tokens = [...Object.values(env), ...[...files.values()].flatMap((text) => text.match(/kgw_[A-Za-z0-9_-]{20,}/g) ?? [])]
      .filter((value) => TOKEN.test(value));
    expect(tokens.length).toBeGreaterThan(0);
    expect(JSON.stringify(env)).not.toContain(upstream.url);
    expect(clone.usageSource).toBe('gateway');

    // Upstream, only real keys arrived, never a token: the secret's for Anthropic, the environment's for
    // OpenAI, the config file's for Gemini.
    const sent = upstream.exchanges.slice(before).map((e) => JSON.stringify(e.headers));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((headers) => headers.includes('kgw_'))).toEqual([]);
    const expected = { 'claude-code': REAL.anthropicSecret, codex: REAL.openaiEnv, 'gemini-cli': REAL.geminiFile, opencode: REAL.openaiEnv,
      'qwen-code': REAL.openaiEnv }[agent];
    expect(sent.every((headers) => headers.includes(expected))).toBe(true);
  });
});
