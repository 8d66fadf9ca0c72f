// The child's environment and private HOME: only allowlisted variables leak in, and every
// config/data/state/cache directory a CLI might touch lives under the clone's own HOME.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { KageError, showValue } from '../domain/index.js';

/** Names, or prefixes ending with `*`, copied from the parent environment by default. */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = Object.freeze([
  'PATH',
  'LANG',
  'LC_*',
  'TZ',
  'TERM',
  'TMPDIR',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  // Model endpoints users already set for their tools; addresses, not secrets.
  'OLLAMA_HOST',
]);

export interface ChildEnvInput {
  /** The parent environment, passed in: only `config/` reads `process.env`. */
  base: NodeJS.ProcessEnv;
  /** Names or prefixes ending with `*`; matching is case-sensitive. */
  allow: readonly string[];
  /** Absolute path of the private HOME. */
  home: string;
  /** Added last; wins over everything. */
  extra: Record<string, string>;
}

/** The private HOME's XDG directories, relative to it. */
const XDG_DIRS = {
  XDG_CONFIG_HOME: '.config',
  XDG_DATA_HOME: join('.local', 'share'),
  XDG_STATE_HOME: join('.local', 'state'),
  XDG_CACHE_HOME: '.cache',
} as const;

export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  const exact = new Set(input.allow.filter((name) => !name.endsWith('*')));
  const prefixes = input.allow.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.base)) {
    if (value === undefined) continue;
    if (exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  env.HOME = input.home;
  for (const [name, dir] of Object.entries(XDG_DIRS)) env[name] = join(input.home, dir);
  return { ...env, ...input.extra };
}

/**
 * Creates `home` and its XDG directories (mode 0700) and writes `files` (paths relative to `home`, mode 0600).
 * Refuses, before writing anything, a path that is absolute or climbs out of `home`.
 */
export async function preparePrivateHome(home: string, files: readonly { path: string; content: string }[]): Promise<void> {
  const root = resolve(home);
  const targets = files.map((file, index) => ({ target: insideHome(root, file.path, index), content: file.content }));
  for (const dir of [root, ...Object.values(XDG_DIRS).map((dir) => join(root, dir))]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is ignored for directories that already exist and is masked by the umask.
    await chmod(dir, 0o700);
  }
  for (const { target, content } of targets) {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(target, content, { mode: 0o600 });
  }
}

function insideHome(root: string, path: string, index: number): string {
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (isAbsolute(path) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    const field = `homeFiles[${index}].path`;
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be a relative path inside HOME, got ${showValue(path)}`, {
      field,
      details: { path },
    });
  }
  return target;
}
