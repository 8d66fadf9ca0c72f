// The agents part of `npm run bench`: every genuine agent CLI and kage's API worker agents against the
// scripted mock model server, each run directly (the baseline, agent-direct.ts) and as a one-clone kage
// task, interleaved sample by sample after one untimed warm-up of each. What kage adds per agent is the
// difference of the two medians. Everything talks to 127.0.0.1 only.
import { join } from 'node:path';
import type { AgentAdapter } from '../agents/adapter.js';
import { installAgentClis, type InstallOutcome } from '../agents/cli-install.js';
import { inspectAgents, type AgentStatus } from '../agents/doctor.js';
import { loadConfig } from '../config/config.js';
import { createKage, type Kage } from '../main/app.js';
import { DEFAULT_CONTENT, startMockModelServer, type MockModelServer } from '../mock-model/index.js';
import { runGit } from '../workspace/git.js';
import { runDirect, type DirectTarget } from './agent-direct.js';
import { overheadP50, spawnToFirstEventMs, summarizeSome, type Overhead } from './agent-figures.js';
import { createDatabase } from './api.js';
import { createKageTaskRunner, type KageTaskRunner } from './kage-tasks.js';
import { createBenchRepo } from './repos.js';
import { quantile, round, type Summary } from './stats.js';
import { mockProviderEnv } from '../mock-model/provider-env.js';

export interface BenchAgent {
  id: string;
  model: string | null;
  /** The clone's options, given to the direct run too. */
  options: Record<string, unknown>;
}

/**
 * Each agent with the model it is asked for: a named model keeps Gemini CLI from its router side call.
 * OpenCode runs `offline`: otherwise it asks the npm registry about plugins on every start, which leaves
 * 127.0.0.1 and makes its start as slow as the registry.
 */
export const BENCH_AGENTS: readonly BenchAgent[] = [
  { id: 'claude-code', model: null, options: {} },
  { id: 'codex', model: 'mock-model', options: {} },
  { id: 'gemini-cli', model: 'gemini-2.5-flash', options: {} },
  { id: 'opencode', model: 'mock-model', options: { offline: true } },
  { id: 'qwen-code', model: 'mock-model', options: {} },
  { id: 'ollama', model: 'mock-model', options: {} },
  { id: 'openai-api', model: 'mock-model', options: {} },
  { id: 'anthropic-api', model: 'mock-model', options: {} },
];

const CONCURRENCY = 8;
/** Per run, direct or a kage clone: the mock answers at once, so only a stuck CLI gets near it. */
const RUN_TIMEOUT_S = 120;
/** A task also adds a worktree, a commit and a merge around its clone. */
const TASK_WAIT_MS = (RUN_TIMEOUT_S + 60) * 1000;
const MAX_ERRORS_PER_AGENT = 5;

export interface AgentBenchOptions {
  tmp: string;
  /** Any database on the benchmark's server; the part creates its own next to it. */
  databaseUrl: string;
  /** Timed samples per agent and side. */
  samples: number;
  /**
   * The caller's environment: npm installs the CLIs with it (its proxy and registry settings), and its
   * KAGE_AGENTS_DIR or XDG_CACHE_HOME say where they are installed. Nothing else of it reaches the agents.
   */
  callerEnv: NodeJS.ProcessEnv;
  progress: (msg: string) => void;
}

/** Figures of one side over its successful samples; `failed` counts the samples that were not. */
export interface SideReport {
  /** From spawn to the first normalized agent event. */
  first_event_ms: Summary | null;
  /** Direct: spawn to exit. Kage: `createTask` to the task terminal. */
  wall_ms: Summary | null;
  /** Model requests the mock served per run (median). */
  model_requests_p50: number | null;
  samples: number;
  failed: number;
}

export interface KageSideReport extends Omit<SideReport, 'wall_ms'> {
  /** The clone's `started_at` (claimed from the queue) to its `finished_at`. */
  clone_wall_ms: Summary | null;
  /** `createTask` to the task terminal (judged and merged). */
  task_wall_ms: Summary | null;
}

export interface AgentReport extends Overhead {
  kind: 'cli' | 'api';
  model: string | null;
  /** `--version` of the CLI found, as `kage doctor` reports it; null for kage's API worker. */
  version: string | null;
  pinned_version: string | null;
  binary: string | null;
  binary_source: AgentStatus['binarySource'];
  /** What `kage doctor` warns about (a version other than the pinned one, ...). */
  problems: string[];
  direct: SideReport;
  kage: KageSideReport;
  /** The first failures (warm-ups included), or why the agent was not run. */
  errors: string[];
}

export interface AgentsBenchReport {
  config: Record<string, unknown>;
  results: Record<string, AgentReport>;
  /** One line per failed or skipped run, also printed on stderr. */
  failures: string[];
}

/** One run, direct or through kage; timings null when it did not get that far. */
interface Sample {
  ok: boolean;
  error: string | null;
  firstEventMs: number | null;
  wallMs: number | null;
  cloneWallMs: number | null;
  requests: number;
}

interface Bench {
  kage: Kage;
  runner: KageTaskRunner;
  mock: MockModelServer;
  direct: DirectTarget;
  kageRepo: string;
  progress: (msg: string) => void;
}

/**
 * The file one run writes, and its prompt: the mock's `write` scenario, with a file of its own per run. Every
 * kage task then adds a file to `main`, as a real one changes something, and every run, direct or kage,
 * creates a file that is not there yet: some CLIs' write tools refuse to overwrite a file they have not read
 * (Qwen Code), and one that overwrites would not be doing what the other side does.
 */
function fileFor(label: string): string {
  return `hello-${label}.txt`;
}

function promptFor(file: string): string {
  // Labels are letters, digits and dashes: nothing in them needs encoding in a marker.
  return `Create ${file}. [[mock:write file=${file}]]`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function modelRequests(mock: MockModelServer): number {
  return mock.requests().filter((r) => r.protocol !== null).length;
}

async function directSample(bench: Bench, adapter: AgentAdapter, agent: BenchAgent, label: string): Promise<Sample> {
  const file = fileFor(label);
  // Kage's workers are idle too: the direct run has the machine to itself, as the kage task does.
  await bench.kage.runtime.idle(30_000);
  bench.mock.clearRequests();
  const run = { label, prompt: promptFor(file), model: agent.model, options: agent.options, file, content: DEFAULT_CONTENT,
    timeoutMs: RUN_TIMEOUT_S * 1000 };
  const sample = await runDirect(bench.direct, adapter, run).catch((err: unknown) =>
    ({ ok: false, error: `could not run: ${errorText(err)}`, firstEventMs: null, wallMs: null }));
  return { ...sample, cloneWallMs: null, requests: modelRequests(bench.mock) };
}

async function kageSample(bench: Bench, agent: BenchAgent, label: string): Promise<Sample> {
  const file = fileFor(label);
  const { store } = bench.kage.ctx;
  // Nothing of the previous task may still be in flight (its last job handler returns just after it finishes).
  await bench.kage.runtime.idle(30_000);
  bench.mock.clearRequests();
  try {
    const run = await bench.runner.run({ repo: bench.kageRepo, clones: 1, description: promptFor(file), agent: agent.id,
      model: agent.model, timeoutSeconds: RUN_TIMEOUT_S, options: agent.options });
    const [clone] = await store.getClones(run.taskId);
    const events = await store.listEvents(run.taskId);
    const onMain = await runGit(['show', `main:${file}`], { cwd: bench.kageRepo, allowFail: true });
    const error = run.status !== 'completed' ? `task ${run.taskId} ended ${run.status}: ${clone?.error ?? 'no clone'}`
      : onMain.code !== 0 ? `${file} is not on main: ${onMain.stderr.trim()}`
        : onMain.stdout !== DEFAULT_CONTENT
          ? `${file} on main holds ${JSON.stringify(onMain.stdout)}, expected ${JSON.stringify(DEFAULT_CONTENT)}`
          : null;
    const cloneWallMs = clone?.startedAt && clone.finishedAt ? clone.finishedAt.getTime() - clone.startedAt.getTime() : null;
    return { ok: error === null, error, firstEventMs: spawnToFirstEventMs(events), wallMs: run.elapsedMs, cloneWallMs,
      requests: modelRequests(bench.mock) };
  } catch (err) {
    return { ok: false, error: `task failed: ${errorText(err)}`, firstEventMs: null, wallMs: null, cloneWallMs: null,
      requests: modelRequests(bench.mock) };
  }
}

function sideReport(samples: readonly Sample[], planned: number): SideReport {
  const ok = samples.filter((s) => s.ok);
  return {
    first_event_ms: summarizeSome(ok.map((s) => s.firstEventMs)),
    wall_ms: summarizeSome(ok.map((s) => s.wallMs)),
    model_requests_p50: ok.length === 0 ? null : round(quantile(ok.map((s) => s.requests), 0.5)),
    samples: planned,
    // Samples never taken (the agent could not run) count as failed.
    failed: planned - ok.length,
  };
}

function ms(value: number | null): string {
  return value === null ? '-' : `${Math.round(value)} ms`;
}

async function measureAgent(bench: Bench, agent: BenchAgent, status: AgentStatus | undefined, samples: number) {
  const adapter = bench.kage.ctx.agents.get(agent.id);
  const errors: string[] = [];
  const failures: string[] = [];
  const direct: Sample[] = [];
  const kage: Sample[] = [];
  const fail = (what: string, error: string): void => {
    failures.push(`${agent.id} ${what}: ${error}`);
    bench.progress(`  FAILED ${agent.id} ${what}: ${error}`);
    if (errors.length < MAX_ERRORS_PER_AGENT) errors.push(`${what}: ${error}`);
  };
  const report = (): AgentReport => {
    const kageSide = sideReport(kage, samples);
    const directSide = sideReport(direct, samples);
    return {
      kind: adapter.cli !== undefined ? 'cli' : 'api',
      model: agent.model,
      version: status?.version ?? null,
      pinned_version: status?.pinnedVersion ?? null,
      binary: status?.binary ?? null,
      binary_source: status?.binarySource ?? null,
      problems: status?.problems ?? [],
      direct: directSide,
      kage: {
        first_event_ms: kageSide.first_event_ms,
        clone_wall_ms: summarizeSome(kage.filter((s) => s.ok).map((s) => s.cloneWallMs)),
        task_wall_ms: kageSide.wall_ms,
        model_requests_p50: kageSide.model_requests_p50,
        samples: kageSide.samples,
        failed: kageSide.failed,
      },
      ...overheadP50(kageSide.wall_ms, directSide.wall_ms),
      errors,
    };
  };

  if (status === undefined || !status.usable) {
    fail('cannot run', status?.problems.join('; ') || 'not in the agent registry');
    return { report: report(), failures };
  }
  const version = status.version ?? "kage's API worker";
  bench.progress(`agents: ${agent.id} (${version}): warm-up, then ${samples} direct and ${samples} kage samples, interleaved`);
  const warmDirect = await directSample(bench, adapter, agent, `${agent.id}-wd`);
  if (!warmDirect.ok) fail('direct warm-up', warmDirect.error ?? 'failed');
  const warmKage = await kageSample(bench, agent, `${agent.id}-wk`);
  if (!warmKage.ok) fail('kage warm-up', warmKage.error ?? 'failed');
  if (!warmDirect.ok && !warmKage.ok) {
    fail('samples', 'not taken: both warm-up runs failed');
    return { report: report(), failures };
  }
  for (let i = 1; i <= samples; i++) {
    // The order alternates, so that neither side always runs in the other's wake (PostgreSQL's background
    // writes after a task, the page cache, children a finished CLI left behind for a moment).
    let d: Sample;
    let k: Sample;
    if (i % 2 === 1) {
      d = await directSample(bench, adapter, agent, `${agent.id}-d${i}`);
      k = await kageSample(bench, agent, `${agent.id}-k${i}`);
    } else {
      k = await kageSample(bench, agent, `${agent.id}-k${i}`);
      d = await directSample(bench, adapter, agent, `${agent.id}-d${i}`);
    }
    if (!d.ok) fail(`direct #${i}`, d.error ?? 'failed');
    direct.push(d);
    if (!k.ok) fail(`kage #${i}`, k.error ?? 'failed');
    kage.push(k);
    bench.progress(`  ${agent.id} #${i}: direct ${d.ok ? ms(d.wallMs) : 'FAILED'} (first event ${ms(d.firstEventMs)}), ` +
      `kage ${k.ok ? ms(k.wallMs) : 'FAILED'} (clone ${ms(k.cloneWallMs)}, first event ${ms(k.firstEventMs)})`);
  }
  return { report: report(), failures };
}

function picked(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

export async function measureAgents(opts: AgentBenchOptions): Promise<AgentsBenchReport> {
  const mock = await startMockModelServer();
  let kage: Kage | null = null;
  let runner: KageTaskRunner | null = null;
  try {
    // A controlled environment, as in the core part, plus the mock's endpoints and where the CLIs live.
    const config = loadConfig(
      { home: join(opts.tmp, 'agents-home'), databaseUrl: await createDatabase(opts.databaseUrl, 'kage_agents_bench'),
        logLevel: 'silent', concurrency: CONCURRENCY },
      { PATH: opts.callerEnv.PATH ?? '/usr/bin:/bin', KAGE_MAX_RETRIES: '0',
        ...picked(opts.callerEnv, ['KAGE_AGENTS_DIR', 'XDG_CACHE_HOME']), ...mockProviderEnv(mock.url) },
    );
    opts.progress(`agents: the pinned CLIs in ${config.agentsDir} (installed now when missing); mock model server at ${mock.url}`);
    const failures: string[] = [];
    const installEnv = Object.fromEntries(Object.entries(opts.callerEnv).filter((e): e is [string, string] => e[1] !== undefined));
    // A failed install is reported, and the CLIs it left missing then fail one by one below (`kage doctor`'s
    // verdict); the API worker agents are measured all the same.
    const install = await installAgentClis({ agentsDir: config.agentsDir, env: installEnv, onLine: opts.progress }).then(
      (outcome: InstallOutcome) => ({ dir: outcome.dir, installed_now: outcome.installed, duration_ms: outcome.durationMs, error: null }),
      (err: unknown) => ({ dir: null, installed_now: false, duration_ms: null, error: errorText(err) }));
    if (install.error !== null) {
      failures.push(`installing the agent CLIs failed: ${install.error}`);
      opts.progress(`  FAILED installing the agent CLIs: ${install.error}`);
    }
    kage = await createKage(config);
    await kage.runtime.start(CONCURRENCY);
    runner = createKageTaskRunner(kage, { timeoutMs: TASK_WAIT_MS });
    const statuses = await inspectAgents(kage.ctx.agents, config);
    const bench: Bench = {
      kage, runner, mock,
      direct: { config, repo: await createBenchRepo(join(opts.tmp, 'repos', 'agents-direct')), root: join(opts.tmp, 'agents-direct') },
      kageRepo: await createBenchRepo(join(opts.tmp, 'repos', 'agents-kage')),
      progress: opts.progress,
    };

    const results: Record<string, AgentReport> = {};
    for (const agent of BENCH_AGENTS) {
      const measured = await measureAgent(bench, agent, statuses.find((s) => s.id === agent.id), opts.samples);
      results[agent.id] = measured.report;
      failures.push(...measured.failures);
    }
    return {
      config: {
        samples: opts.samples,
        warm_ups: 1,
        agents: Object.fromEntries(BENCH_AGENTS.map((a) => [a.id, { model: a.model, options: a.options }])),
        concurrency: CONCURRENCY,
        max_retries: 0,
        run_timeout_s: RUN_TIMEOUT_S,
        mock_scenario: 'write',
        prompt: promptFor(fileFor('<agent>-<d|k><n>')),
        agents_dir: config.agentsDir,
        install,
      },
      results,
      failures,
    };
  } finally {
    runner?.stop();
    await kage?.close();
    await mock.close();
  }
}
