import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/agent-fixtures.js';
import { findCliBinary, managedBinDir } from './cli-binaries.js';
import { CLI_PINS, pinsKey } from './cli-pins.js';

function executable(dir: string, name: string, mode = 0o755): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\necho 1.0.0\n');
  chmodSync(path, mode);
  return path;
}

describe('findCliBinary', () => {
  const spec = CLI_PINS['claude-code'];

  it('takes the configured path, else PATH, else kage\'s install dir', () => {
    const root = tempDir();
    const agentsDir = join(root, 'agents');
    const managed = executable(managedBinDir(agentsDir), 'claude');
    expect(findCliBinary(spec, { configured: null, pathEnv: '/nonexistent', agentsDir })).toEqual({ path: managed, source: 'kage' });

    const onPath = executable(join(root, 'bin'), 'claude');
    expect(findCliBinary(spec, { configured: null, pathEnv: `/nonexistent:${join(root, 'bin')}`, agentsDir })).toEqual({ path: onPath, source: 'path' });

    const configured = executable(join(root, 'opt'), 'my-claude');
    expect(findCliBinary(spec, { configured, pathEnv: join(root, 'bin'), agentsDir })).toEqual({ path: configured, source: 'config' });
    // A bare configured name is looked up on PATH.
    expect(findCliBinary(spec, { configured: 'my-claude', pathEnv: join(root, 'opt'), agentsDir })).toEqual({ path: configured, source: 'config' });
  });

  it('finds nothing when the configured binary is missing or not executable, without falling back', () => {
    const root = tempDir();
    const agentsDir = join(root, 'agents');
    executable(managedBinDir(agentsDir), 'claude');
    expect(findCliBinary(spec, { configured: join(root, 'missing'), pathEnv: undefined, agentsDir })).toBeNull();
    const plain = executable(join(root, 'opt'), 'claude', 0o644);
    expect(findCliBinary(spec, { configured: plain, pathEnv: undefined, agentsDir })).toBeNull();
    // Relative PATH entries are ignored: they would resolve against whatever directory kage runs in.
    executable(join(root, 'rel'), 'claude');
    expect(findCliBinary(spec, { configured: null, pathEnv: 'rel', agentsDir: join(root, 'empty') })).toBeNull();
  });

  it('keys the install dir by every pin', () => {
    expect(pinsKey()).toMatch(/^[0-9a-f]{12}$/);
    expect(managedBinDir('/x')).toBe(join('/x', pinsKey(), 'node_modules', '.bin'));
  });
});
