// The baseline of the agents part: the command kage's clone runner would run for one clone, spawned without
// kage: the same adapter, binary lookup, environment, private HOME, supervisor and parser, in a fresh
// worktree, with nothing stored. Timed from spawn to the first normalized event and to exit.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentAdapter, AgentRunInput } from '../agents/adapter.js';
import { findCliBinary } from '../agents/cli-binaries.js';
import type { KageConfig } from '../config/config.js';
import type { AgentEvent } from '../domain/index.js';
import { DEFAULT_ENV_ALLOWLIST, buildChildEnv, preparePrivateHome } from '../process/environment.js';
import { classifyFailure } from '../process/failure.js';
import { killProcessGroup, runProcess } from '../process/supervisor.js';
import { runGit } from '../workspace/git.js';

export interface DirectTarget {
  config: KageConfig;
  /** Repository the worktrees are added to, from its `main`. */
  repo: string;
  /** Scratch directory for the worktrees and homes. */
  root: string;
}

export interface DirectRun {
  /** Distinguishes this run's branch, worktree and home from the others. */
  label: string;
  prompt: string;
  model: string | null;
  /** The clone's options (`offline`, `permissionMode`, ...). */
  options: Record<string, unknown>;
  /** The file the mock's `write` scenario makes the agent write, and what it must contain. */
  file: string;
  content: string;
  timeoutMs: number;
}

export interface DirectSample {
  /** The run reported success the way kage judges a clone, and the file holds the expected content. */
  ok: boolean;
  error: string | null;
  /** From the spawn (the moment kage emits `agent_spawned`) to the parser's first event. */
  firstEventMs: number | null;
  /** From just before the spawn to the process's exit and its output drained. */
  wallMs: number;
}

export async function runDirect(target: DirectTarget, adapter: AgentAdapter, run: DirectRun): Promise<DirectSample> {
  const { config } = target;
  const worktree = join(target.root, 'worktrees', run.label);
  const home = join(target.root, 'homes', run.label);
  const branch = `direct/${run.label}`;
  await runGit(['worktree', 'add', '-q', '-b', branch, worktree, 'main'], { cwd: target.repo });
  try {
    // As the clone runner builds them (core/clone-runner.ts).
    const agentConfig = config.agents[adapter.id] ?? {};
    const env = buildChildEnv({ base: config.env, allow: [...DEFAULT_ENV_ALLOWLIST, ...config.envAllowlist], home,
      extra: agentConfig.env ?? {} });
    const input: AgentRunInput = {
      prompt: run.prompt,
      model: run.model ?? agentConfig.model ?? null,
      worktree,
      home,
      resumeSessionId: null,
      options: { ...(agentConfig.options ?? {}), ...(agentConfig.bin ? { bin: agentConfig.bin } : {}),
        ...(agentConfig.args ? { args: agentConfig.args } : {}), ...run.options },
      env,
      providers: config.providers,
      binary: adapter.cli === undefined ? null
        : findCliBinary(adapter.cli, { configured: agentConfig.bin ?? null, pathEnv: env.PATH, agentsDir: config.agentsDir })?.path ?? null,
    };
    const command = adapter.buildCommand(input);
    await preparePrivateHome(home, command.homeFiles);

    const parser = adapter.createParser();
    const events: AgentEvent[] = [];
    let spawnedAt: number | null = null;
    let firstEventAt: number | null = null;
    const startedAt = performance.now();
    const result = await runProcess({
      argv: command.argv,
      cwd: worktree,
      env: { ...env, ...command.env },
      stdin: command.stdin,
      timeoutMs: run.timeoutMs,
      killGraceMs: config.killGraceMs,
      onSpawn: () => (spawnedAt = performance.now()),
      onLine: (line, stream) => {
        const parsed = parser.line(line, stream);
        if (parsed.length > 0) firstEventAt ??= performance.now();
        events.push(...parsed);
      },
    });
    const wallMs = performance.now() - startedAt;
    if (result.pid) killProcessGroup(result.pid, 'SIGKILL');
    events.push(...parser.end());

    const failure = classifyFailure(result, events, { requireResultEvent: true });
    const firstEventMs = spawnedAt !== null && firstEventAt !== null ? firstEventAt - spawnedAt : null;
    let error = failure.kind !== 'none' ? `${failure.kind}: ${failure.message ?? ''}`
      : result.exitCode !== 0 ? `exited with code ${result.exitCode}: ${result.stderrTail.slice(-300)}` : null;
    if (error === null) {
      const written = await readFile(join(worktree, run.file), 'utf8').catch(() => null);
      if (written !== run.content) error = `${run.file} holds ${JSON.stringify(written)}, expected ${JSON.stringify(run.content)}`;
    }
    return { ok: error === null, error, firstEventMs, wallMs };
  } finally {
    await runGit(['worktree', 'remove', '--force', worktree], { cwd: target.repo });
    await runGit(['branch', '-D', '-q', branch], { cwd: target.repo });
    await rm(home, { recursive: true, force: true });
  }
}
