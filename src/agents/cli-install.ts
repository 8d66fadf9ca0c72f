// `kage agents install`: the pinned agent CLIs, installed from npm once per machine into a directory keyed
// by the pins and reused afterwards. The install goes to a scratch directory first and is renamed into place
// when complete, so an interrupted install never looks finished; a lock keeps two installs from racing.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { KageError } from '../domain/index.js';
import { runProcess } from '../process/supervisor.js';
import { agentsInstallDir } from './cli-binaries.js';
import { CLI_PINS, PACKAGES_WITH_INSTALL_SCRIPTS } from './cli-pins.js';

const MARKER = 'kage-install.json';
const NPM_TIMEOUT_MS = 20 * 60_000;

export interface InstallOutcome {
  dir: string;
  /** False when a complete install was already there. */
  installed: boolean;
  durationMs: number;
  packages: string[];
}

export interface InstallOptions {
  agentsDir: string;
  /** The environment npm runs with (PATH, proxies, npm_config_*). */
  env: Readonly<Record<string, string>>;
  /** Progress lines for the user (npm's own warnings included). */
  onLine?: (line: string) => void;
}

function pinnedPackages(): string[] {
  return Object.values(CLI_PINS).map((pin) => `${pin.npmPackage}@${pin.version}`);
}

/** Whether the pinned set is installed completely under `agentsDir`. */
export function isInstalled(agentsDir: string): boolean {
  const marker = join(agentsInstallDir(agentsDir), MARKER);
  if (!existsSync(marker)) return false;
  try {
    const recorded = JSON.parse(readFileSync(marker, 'utf8')) as { packages?: unknown };
    const wanted = pinnedPackages();
    return Array.isArray(recorded.packages) && wanted.every((p) => (recorded.packages as unknown[]).includes(p));
  } catch {
    return false;
  }
}

/** The npm next to the running Node, else whatever `npm` PATH gives. */
function npmCommand(): string {
  const beside = join(dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}

export async function installAgentClis(opts: InstallOptions): Promise<InstallOutcome> {
  const started = Date.now();
  const dir = agentsInstallDir(opts.agentsDir);
  const packages = pinnedPackages();
  if (isInstalled(opts.agentsDir)) return { dir, installed: false, durationMs: Date.now() - started, packages };

  await mkdir(opts.agentsDir, { recursive: true });
  const release = await lockfile.lock(opts.agentsDir, {
    lockfilePath: join(opts.agentsDir, '.install.lock'),
    stale: 60_000,
    retries: { retries: 1200, minTimeout: 500, maxTimeout: 1000, factor: 1 },
  });
  try {
    // Another process may have finished the same install while this one waited for the lock.
    if (isInstalled(opts.agentsDir)) return { dir, installed: false, durationMs: Date.now() - started, packages };
    const scratch = `${dir}.partial-${process.pid}`;
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    await writeFile(join(scratch, 'package.json'), `${JSON.stringify({
      name: 'kage-agent-clis',
      private: true,
      description: 'Agent CLIs installed by `kage agents install`',
      dependencies: Object.fromEntries(Object.values(CLI_PINS).map((pin) => [pin.npmPackage, pin.version])),
      // npm 11 runs dependency install scripts only when allowed; these two link their platform binary.
      allowScripts: Object.fromEntries(PACKAGES_WITH_INSTALL_SCRIPTS.map((name) => [name, true])),
    }, null, 2)}\n`);
    opts.onLine?.(`Installing ${packages.join(' ')} into ${dir}`);
    const result = await runProcess({
      argv: [npmCommand(), 'install', '--no-audit', '--no-fund', '--loglevel=warn', '--engine-strict=false'],
      cwd: scratch,
      env: { ...opts.env },
      stdin: { kind: 'ignore' },
      timeoutMs: NPM_TIMEOUT_MS,
      onLine: (line) => opts.onLine?.(line),
    });
    if (result.exitCode !== 0) {
      await rm(scratch, { recursive: true, force: true });
      const why = result.spawnError ?? (result.timedOut ? 'timed out' : `exit code ${result.exitCode ?? result.signal}`);
      throw new KageError('KAGE_INSTALL_FAILED', `npm install of the agent CLIs failed (${why}): ${result.stderrTail.trim().slice(-800)}`);
    }
    await writeFile(join(scratch, MARKER), `${JSON.stringify({ packages, installedAt: new Date().toISOString() }, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
    await removeOtherInstalls(opts.agentsDir, dir);
    return { dir, installed: true, durationMs: Date.now() - started, packages };
  } finally {
    await release();
  }
}

/** Installs of earlier pin sets and scratch directories of interrupted installs: about 1.4 GB each. */
async function removeOtherInstalls(agentsDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(agentsDir, { withFileTypes: true })) {
    const path = join(agentsDir, entry.name);
    if (entry.isDirectory() && path !== keep && /^[0-9a-f]{12}(\.partial-\d+)?$/.test(entry.name)) {
      await rm(path, { recursive: true, force: true });
    }
  }
}
