// `kage doctor` and `kage agents install` through the built CLI, with the pinned CLIs the test setup installed.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CLI_PINS } from '../src/agents/cli-pins.js';
import { parseJson } from './support/cli-json.js';
import { kageCli, tempDir } from './support/harness.js';

interface DoctorJson {
  agents: { id: string; usable: boolean; kind: string; version: string | null; binary: string | null; problems: string[]; fix: string | null;
    endpoint: string | null; apiKeySet: boolean | null }[];
}

/** No agent CLI on this PATH: only node's directory and the system's (git, sh). */
const BARE_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;

describe('kage doctor', () => {
  it('finds every pinned CLI in the agents dir, at its pinned version, and reports endpoints from the environment', async () => {
    const env = { KAGE_HOME: tempDir('doctor-home'), KAGE_AGENTS_DIR: inject('agentsDir'), PATH: BARE_PATH,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999', ANTHROPIC_API_KEY: 'sk-test' };
    const result = await kageCli(['doctor', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<DoctorJson>(result, 'kage doctor --json');
    for (const [id, pin] of Object.entries(CLI_PINS)) {
      const agent = report.agents.find((a) => a.id === id)!;
      expect(agent, id).toMatchObject({ usable: true, kind: 'cli', version: pin.version });
      expect(agent.binary).toBe(join(inject('agentsDir'), readdirSync(inject('agentsDir')).find((d) => /^[0-9a-f]{12}$/.test(d))!,
        'node_modules', '.bin', pin.command));
    }
    expect(report.agents.find((a) => a.id === 'claude-code')).toMatchObject({ endpoint: 'http://127.0.0.1:9999', apiKeySet: true, problems: [] });
    expect(report.agents.find((a) => a.id === 'codex')!.problems.join(' ')).toContain('OPENAI_API_KEY');

    const text = await kageCli(['doctor'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ok {4}claude-code \(claude\) +2\.1\.332 at \S+claude \(kage install\)$/m);
    expect(text.stdout).toMatch(/^\d+ of 10 agents usable\.$/m);
  });

  it('says how to install a CLI it cannot find, and still exits 0', async () => {
    const env = { KAGE_HOME: tempDir('doctor-home'), KAGE_AGENTS_DIR: tempDir('no-agents'), PATH: BARE_PATH };
    const result = await kageCli(['doctor', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const codex = parseJson<DoctorJson>(result, 'kage doctor --json').agents.find((a) => a.id === 'codex')!;
    expect(codex).toMatchObject({ usable: false, binary: null, version: null, fix: 'kage agents install (or npm i -g @openai/codex@0.171.0)' });
    expect(codex.problems[0]).toMatch(/`codex` is not on PATH nor in /);
    const text = await kageCli(['doctor'], env);
    expect(text.stdout).toMatch(/^FAIL {2}codex +not found$/m);
    expect(text.stdout).toMatch(/^ {6}fix: kage agents install/m);
  });
});

describe('kage agents install', () => {
  it('reuses a complete install', async () => {
    const result = await kageCli(['agents', 'install', '--json'], { KAGE_HOME: tempDir('install-home'), KAGE_AGENTS_DIR: inject('agentsDir') });
    expect(result.code, result.stderr).toBe(0);
    const outcome = parseJson<{ installed: boolean; packages: string[] }>(result, 'kage agents install --json');
    expect(outcome.installed).toBe(false);
    expect(outcome.packages).toEqual(Object.values(CLI_PINS).map((p) => `${p.npmPackage}@${p.version}`));
  });

  it('fails clearly when npm cannot reach its registry, and leaves nothing half-installed', async () => {
    const agentsDir = tempDir('broken-install');
    const result = await kageCli(['agents', 'install'], {
      KAGE_HOME: tempDir('install-home'),
      KAGE_AGENTS_DIR: agentsDir,
      // An empty cache and a registry where nothing listens: npm has nowhere to get the packages from.
      npm_config_cache: tempDir('npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
      npm_config_fetch_timeout: '2000',
    }, { timeoutMs: 45_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/npm install of the agent CLIs failed .*\[KAGE_INSTALL_FAILED\]/s);
    expect(readdirSync(agentsDir).filter((name) => !name.startsWith('.'))).toEqual([]);
    expect(existsSync(join(agentsDir, '.install.lock'))).toBe(false);
  });
});
