import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isKageError } from '../domain/index.js';
import { buildChildEnv, DEFAULT_ENV_ALLOWLIST, preparePrivateHome } from './environment.js';

describe('buildChildEnv', () => {
  const base = {
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    LC_CTYPE: 'UTF-8',
    HOME: '/root',
    XDG_CONFIG_HOME: '/root/.config',
    ANTHROPIC_API_KEY: 'secret',
    AWS_SECRET_ACCESS_KEY: 'secret',
    https_proxy: 'http://proxy:3128',
    NO_PROXY: 'localhost',
    OLLAMA_HOST: 'gpu-box:11434',
    UNSET: undefined,
  };

  it('copies only allowlisted variables and points HOME and XDG at the private home', () => {
    const env = buildChildEnv({ base, allow: DEFAULT_ENV_ALLOWLIST, home: '/tmp/h', extra: {} });
    expect(env).toEqual({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      LC_CTYPE: 'UTF-8',
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      OLLAMA_HOST: 'gpu-box:11434',
      HOME: '/tmp/h',
      XDG_CONFIG_HOME: '/tmp/h/.config',
      XDG_DATA_HOME: '/tmp/h/.local/share',
      XDG_STATE_HOME: '/tmp/h/.local/state',
      XDG_CACHE_HOME: '/tmp/h/.cache',
    });
  });

  it('lets extra variables win', () => {
    const env = buildChildEnv({ base, allow: ['PATH'], home: '/tmp/h', extra: { PATH: '/opt/bin', ANTHROPIC_BASE_URL: 'http://mock' } });
    expect(env.PATH).toBe('/opt/bin');
    expect(env.ANTHROPIC_BASE_URL).toBe('http://mock');
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
  });

  it('matches prefixes only for names ending with *', () => {
    const env = buildChildEnv({ base, allow: ['LC_', 'ANTHROPIC_*'], home: '/tmp/h', extra: {} });
    expect(env.LC_ALL).toBeUndefined();
    expect(env.ANTHROPIC_API_KEY).toBe('secret');
  });
});

describe('preparePrivateHome', () => {
  let home = '';
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('creates the XDG directories private to the user and writes the files', async () => {
    home = join(await mkdtemp(join(tmpdir(), 'kage-home-')), 'home');
    await preparePrivateHome(home, [{ path: '.claude/settings.json', content: '{"a":1}' }]);
    for (const dir of ['', '.config', '.local/share', '.local/state', '.cache']) {
      expect(((await stat(join(home, dir))).mode & 0o777).toString(8)).toBe('700');
    }
    expect(await readFile(join(home, '.claude/settings.json'), 'utf8')).toBe('{"a":1}');
    expect((await stat(join(home, '.claude/settings.json'))).mode & 0o077).toBe(0);
  });

  it.each(['../escape', '/etc/passwd', 'a/../../escape', '.'])('refuses the path %s', async (path) => {
    home = join(await mkdtemp(join(tmpdir(), 'kage-home-')), 'home');
    const error = await preparePrivateHome(home, [{ path, content: 'x' }]).catch((err: unknown) => err);
    expect(isKageError(error, 'KAGE_INVALID_INPUT')).toBe(true);
    expect(existsSync(join(home, '..', 'escape'))).toBe(false);
    expect(existsSync(home)).toBe(false);
  });
});
