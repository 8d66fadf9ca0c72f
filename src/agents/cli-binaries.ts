// Finding an agent CLI's executable: the configured `bin`, else PATH, else kage's own install directory
// (`kage agents install`).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { CliSpec } from './adapter.js';
import { pinsKey } from './cli-pins.js';

/** Where `kage agents install` puts the pinned CLIs under the agents dir. */
export function agentsInstallDir(agentsDir: string): string {
  return join(agentsDir, pinsKey());
}

export function managedBinDir(agentsDir: string): string {
  return join(agentsInstallDir(agentsDir), 'node_modules', '.bin');
}

export interface BinaryLookup {
  /** `agents.<id>.bin` from the config: a path, or a command name looked up on PATH. */
  configured: string | null;
  /** PATH of the agent's environment. */
  pathEnv: string | undefined;
  agentsDir: string;
}

export interface FoundBinary {
  path: string;
  source: 'config' | 'path' | 'kage';
}

export function findCliBinary(spec: CliSpec, lookup: BinaryLookup): FoundBinary | null {
  if (lookup.configured !== null) {
    const configured = lookup.configured;
    if (configured.includes('/')) {
      const path = resolve(configured);
      return isExecutable(path) ? { path, source: 'config' } : null;
    }
    const onPath = searchPath(configured, lookup.pathEnv);
    return onPath === null ? null : { path: onPath, source: 'config' };
  }
  const onPath = searchPath(spec.command, lookup.pathEnv);
  if (onPath !== null) return { path: onPath, source: 'path' };
  const managed = join(managedBinDir(lookup.agentsDir), spec.command);
  return isExecutable(managed) ? { path: managed, source: 'kage' } : null;
}

function searchPath(command: string, pathEnv: string | undefined): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
