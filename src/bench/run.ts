// `npm run bench`: task latency against the floor for 1, 4 and 8 clones, memory over many tasks, and
// worktrees left behind (the core part); the HTTP API under load (the api part, in api.ts); each agent CLI
// directly and through kage (the agents part, in agents.ts); streamed model requests directly and through the
// LLM gateway (the gateway part, in gateway.ts). JSON on stdout (and in bench-results.json),
// progress, missed targets and failed runs on stderr.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/config.js';
import { childEnv } from '../core/clone-runner.js';
import { createKage, type Kage } from '../main/app.js';
import { measureAgents } from './agents.js';
import { measureGateway } from './gateway.js';
import { API_TARGETS, measureApi, type ApiReport } from './api.js';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../store/embedded-postgres.js';
import { runGit } from '../workspace/git.js';
import { createFloor } from './floor.js';
import { createKageTaskRunner, type KageTaskRunner } from './kage-tasks.js';
import { measureMemory } from './memory.js';
import { CLONE_COUNTS, parseBenchArgs, type BenchOptions } from './options.js';
import { medianOffsets, milestoneOffsets } from './phases.js';
import { createBenchRepo, linkedWorktrees, TASK_FILE } from './repos.js';
import { ratio, round, summarize } from './stats.js';

const TARGETS = { overhead_ratio_max: 1.5, rss_growth_mb_max: 5, worktrees_left: 0 };
const CONCURRENCY = 8;
const TASK_TIMEOUT_MS = 120_000;
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const progress = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

function machine() {
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, total_mem_mb: Math.round(totalmem() / 2 ** 20),
    node: process.version, platform: process.platform, git, loadavg_start: loadavg().map((x) => round(x, 2)) };
}

async function measureLatency(kage: Kage, runner: KageTaskRunner, opts: BenchOptions, dirs: { tmp: string; kageRepo: string }) {
  const floorRepo = await createBenchRepo(join(dirs.tmp, 'repos', 'floor'));
  // The floor advances `main` with update-ref; a detached checkout keeps the repository's own worktree clean.
  await runGit(['checkout', '-q', '--detach'], { cwd: floorRepo });
  const floorHome = join(dirs.tmp, 'floor-home');
  const floor = createFloor({ repo: floorRepo, baseBranch: 'main', worktreeRoot: join(dirs.tmp, 'floor-worktrees'),
    agentHome: floorHome, env: childEnv(kage.ctx, floorHome) });
  let seq = 0;
  const kageTask = async (clones: number) => {
    seq++;
    // Nothing of the previous task may still be in flight (its last job handler returns just after it finishes).
    await kage.runtime.idle(30_000);
    return runner.run({ repo: dirs.kageRepo, clones, description: `bench task ${seq}`,
      options: { behaviour: 'ok', file: TASK_FILE, content: `kage task ${seq}\n` } });
  };
  const floorTask = (clones: number) => {
    seq++;
    return floor.run({ label: `f${seq}`, clones, prompt: `bench task ${seq}`,
      options: { behaviour: 'ok', file: TASK_FILE, content: `floor task ${seq}\n` } });
  };

  const latency: Record<string, unknown> = {};
  const failures: string[] = [];
  for (const clones of CLONE_COUNTS) {
    const n = opts.samples[clones]!;
    progress(`latency, ${clones} clone(s): warm-up, then ${n} kage and ${n} floor samples, interleaved`);
    await kageTask(clones);
    await floorTask(clones);
    const kageMs: number[] = [];
    const floorMs: number[] = [];
    const taskIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = await kageTask(clones);
      if (k.status !== 'completed') failures.push(`${k.taskId} (${clones} clones) ended ${k.status}`);
      kageMs.push(k.elapsedMs);
      taskIds.push(k.taskId);
      floorMs.push(await floorTask(clones));
      progress(`  ${clones} clone(s) #${i + 1}: kage ${Math.round(k.elapsedMs)} ms, floor ${Math.round(floorMs.at(-1)!)} ms`);
    }
    const perTask = [];
    for (const id of taskIds) perTask.push(milestoneOffsets(await kage.ctx.store.listEvents(id)));
    const kageStats = summarize(kageMs);
    const floorStats = summarize(floorMs);
    latency[String(clones)] = {
      kage: kageStats,
      floor: floorStats,
      ratio_p50: ratio(kageStats.p50, floorStats.p50),
      ratio_p99: ratio(kageStats.p99, floorStats.p99),
      kage_milestones_p50_ms: medianOffsets(perTask),
    };
  }
  const floorLeft = (await linkedWorktrees(floorRepo)).length;
  return { latency, failures, floorLeft };
}

/** What one part adds to the report, and the targets it missed (printed on stderr). */
interface PartResult {
  fields: Record<string, unknown>;
  missed: string[];
}

async function runCore(opts: BenchOptions, tmp: string, databaseUrl: string, home: string): Promise<PartResult> {
  let kage: Kage | null = null;
  try {
    // A controlled environment: no KAGE_* variables of the caller's shell change what is measured.
    const config = loadConfig({ home, databaseUrl, logLevel: 'silent', concurrency: CONCURRENCY },
      { PATH: process.env.PATH ?? '/usr/bin:/bin', KAGE_MAX_RETRIES: '0' });
    kage = await createKage(config);
    await kage.runtime.start(CONCURRENCY);
    const kageRepo = await createBenchRepo(join(tmp, 'repos', 'kage'));

    const runner = createKageTaskRunner(kage, { timeoutMs: TASK_TIMEOUT_MS });
    const { latency, failures, floorLeft } = await measureLatency(kage, runner, opts, { tmp, kageRepo });
    progress(`memory: ${opts.memoryTasks} sequential one-clone tasks, sampled after ${opts.memoryCheckpoint} and ${opts.memoryTasks}`);
    const memory = await measureMemory(kage, runner, { repo: kageRepo, file: TASK_FILE, tasks: opts.memoryTasks, checkpoint: opts.memoryCheckpoint, progress });
    runner.stop();
    await kage.runtime.idle(30_000);

    const onDisk = kage.ctx.worktrees.listWorktreesOnDisk();
    const linked = await linkedWorktrees(kageRepo);
    const worktreesLeft = onDisk.length + linked.length;

    const ratios = CLONE_COUNTS.flatMap((c) => {
      const l = latency[String(c)] as { ratio_p50: number | null; ratio_p99: number | null };
      return [['p50', c, l.ratio_p50], ['p99', c, l.ratio_p99]] as const;
    });
    const missedOverhead = ratios.filter(([, , r]) => r === null || r > TARGETS.overhead_ratio_max);
    const pass = {
      overhead: missedOverhead.length === 0,
      rss: memory.growth_mb <= TARGETS.rss_growth_mb_max,
      worktrees: worktreesLeft <= TARGETS.worktrees_left,
    };
    const missed = [
      ...missedOverhead.map(([q, c, r]) => `MISSED overhead target: ${c} clone(s) ${q} kage/floor = ${r} > ${TARGETS.overhead_ratio_max}`),
      ...(pass.rss ? [] : [`MISSED memory target: RSS grew ${memory.growth_mb} MB > ${TARGETS.rss_growth_mb_max} MB`]),
      ...(pass.worktrees ? [] : [`MISSED worktree target: ${worktreesLeft} left > ${TARGETS.worktrees_left}`]),
      ...failures.map((f) => `task did not complete: ${f}`),
    ];
    return {
      fields: {
        config: { concurrency: CONCURRENCY, agent: 'fake', behaviour: 'ok', check_command: null, merge_strategy: 'auto',
          max_retries: 0, samples: opts.samples, quick: opts.quick },
        latency,
        memory,
        worktrees_left: worktreesLeft,
        worktrees_left_detail: { on_disk: onDisk, git_worktree_list: linked, floor_git_worktree_list: floorLeft },
        failed_tasks: failures,
        targets: TARGETS,
        pass,
      },
      missed,
    };
  } finally {
    await kage?.close();
  }
}

async function runApi(opts: BenchOptions, tmp: string, databaseUrl: string): Promise<PartResult> {
  const report: ApiReport = await measureApi({ tmp, databaseUrl, requests: opts.apiRequests, memoryTasks: opts.apiTasks, progress });
  const c16 = report.submit.find((s) => s.concurrency === 16)!;
  const pass = {
    submissions: c16.requests_per_s >= API_TARGETS.submissions_per_s_c16_min,
    sse: report.sse.stored_to_received_ms.p99 <= API_TARGETS.sse_p99_ms_max,
    rss: report.memory.growth_mb <= API_TARGETS.rss_growth_mb_max,
  };
  const notCreated = [...report.submit, ...report.get_task].filter((s) => s.first_error !== null);
  const failedTasks = Object.entries(report.task_statuses).filter(([status]) => status !== 'completed');
  const missed = [
    ...(pass.submissions ? [] : [`MISSED api submissions target: ${c16.requests_per_s}/s at c=16 < ${API_TARGETS.submissions_per_s_c16_min}/s`]),
    ...(pass.sse ? [] : [`MISSED api SSE target: p99 ${report.sse.stored_to_received_ms.p99} ms > ${API_TARGETS.sse_p99_ms_max} ms`]),
    ...(pass.rss ? [] : [`MISSED api memory target: server RSS grew ${report.memory.growth_mb} MB > ${API_TARGETS.rss_growth_mb_max} MB`]),
    ...notCreated.map((s) => `api request failed at c=${s.concurrency}: ${s.first_error}`),
    ...(report.memory.failed_submissions > 0 ? [`api memory run: ${report.memory.failed_submissions} submissions failed`] : []),
    ...failedTasks.map(([status, n]) => `api: ${n} task(s) ended ${status}`),
  ];
  return { fields: { api: { ...report, targets: API_TARGETS, pass } }, missed };
}

async function runAgents(opts: BenchOptions, tmp: string, databaseUrl: string): Promise<PartResult> {
  const report = await measureAgents({ tmp, databaseUrl, samples: opts.agentSamples, callerEnv: process.env, progress });
  return { fields: { agents: { ...report, config: { ...report.config, quick: opts.quick } } },
    missed: report.failures.map((f) => `agents: ${f}`) };
}

async function runGateway(opts: BenchOptions): Promise<PartResult> {
  const report = await measureGateway({ requests: opts.gatewayRequests, progress });
  const missed = Object.entries(report.results).flatMap(([protocol, r]) => {
    if (r === null) return [`gateway: no successful ${protocol} request on one side`];
    return r.pass ? [] : [`MISSED gateway target: ${protocol} adds ${r.added_ms_p50} ms at p50 > ${report.targets.added_ms_p50_max} ms`];
  });
  return { fields: { gateway: { ...report, config: { ...report.config, quick: opts.quick } } },
    missed: [...missed, ...report.failures.map((f) => `gateway: ${f}`)] };
}

async function main(): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2), join(PACKAGE_ROOT, 'bench-results.json'));
  const tmp = mkdtempSync(join(tmpdir(), 'kage-bench-'));
  // The embedded server may run as another user (when we are root); it must be able to reach its directory.
  chmodSync(tmp, 0o755);
  const home = join(tmp, 'home');
  const info = machine();
  progress(`${info.cpus} cpu(s), node ${info.node}, load ${info.loadavg_start.join(' ')}; working in ${tmp}`);
  progress('starting PostgreSQL');
  try {
    const pg = await ensureEmbeddedPostgres({ home });
    const parts: PartResult[] = [];
    if (opts.parts.includes('core')) parts.push(await runCore(opts, tmp, pg.url, home));
    if (opts.parts.includes('api')) parts.push(await runApi(opts, tmp, pg.url));
    if (opts.parts.includes('agents')) parts.push(await runAgents(opts, tmp, pg.url));
    if (opts.parts.includes('gateway')) parts.push(await runGateway(opts));
    const result = { machine: { ...info, loadavg_end: loadavg().map((x) => round(x, 2)) }, parts: opts.parts,
      ...Object.assign({}, ...parts.map((p) => p.fields)) as Record<string, unknown> };
    const json = JSON.stringify(result, null, 2);
    process.stdout.write(`${json}\n`);
    await writeFile(opts.out, `${json}\n`);
    progress(`wrote ${opts.out}`);
    for (const line of parts.flatMap((p) => p.missed)) progress(line);
  } finally {
    await stopEmbeddedPostgres({ home }).catch((err: unknown) => progress(`stopping PostgreSQL failed: ${String(err)}`));
    if (opts.keep) progress(`kept ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  }
}

/** RSS is only comparable after a full collection; node exposes `gc` only with --expose-gc. */
function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

if (hasGc()) {
  await main();
} else {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
}
