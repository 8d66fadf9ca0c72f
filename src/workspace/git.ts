// Runs the git CLI (argv arrays, never a shell) and answers small questions about repositories.
// The CLI rather than a library: worktrees, merge-tree and hooks behave exactly as the user's own git.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KageError, showValue } from '../domain/index.js';

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunGitOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Written to git's stdin, which is closed otherwise. */
  input?: string;
  /** Return a non-zero exit as a result instead of throwing. */
  allowFail?: boolean;
}

/**
 * Config for commands that create commits. A fixed identity so commits work where none is configured;
 * no signing (a pinentry prompt would hang an unattended run); no auto-gc (it repacks refs and
 * would race the other clones' git commands on packed-refs.lock).
 */
export const COMMIT_CONFIG: readonly string[] = Object.freeze([
  '-c', 'user.name=kage',
  '-c', 'user.email=kage@localhost',
  '-c', 'commit.gpgsign=false',
  '-c', 'gc.auto=0',
]);

/**
 * Variables that would redirect every command to another repository when kage itself runs from a
 * git hook or a shell where they are set.
 */
const INHERITED_GIT_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_PREFIX',
  'GIT_NAMESPACE',
];

const STDERR_TAIL_CHARS = 2000;

/** The environment every git command runs with: no inherited repository redirection, never a prompt. */
export function gitEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_GIT_VARS) delete env[name];
  // Never wait for a person: no credential prompt, no editor, no merge-message editor.
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_EDITOR = 'true';
  env.GIT_MERGE_AUTOEDIT = 'no';
  return { ...env, ...extra };
}

export function runGit(args: string[], opts: RunGitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const fail = (detail: string, code: number | null, stderr: string, cause?: unknown): KageError =>
      new KageError('KAGE_GIT_FAILED', `git ${args.join(' ')} failed in ${opts.cwd}: ${detail}`, {
        details: { args, cwd: opts.cwd, code, stderr },
        cause,
      });
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: gitEnv(opts.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(fail(e.message, null, '', e)));
    if (opts.input !== undefined && child.stdin) {
      // git may exit before reading everything (bad argument); EPIPE then is not the error to report.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    child.on('close', (code, signal) => {
      const result: GitResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? 128,
      };
      if (result.code === 0 || opts.allowFail === true) {
        resolve(result);
        return;
      }
      const tail = result.stderr.trim().slice(-STDERR_TAIL_CHARS) || (signal ? `killed by ${signal}` : `exit ${result.code}`);
      reject(fail(tail, result.code, result.stderr));
    });
  });
}

export async function isGitRepo(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const res = await runGit(['rev-parse', '--git-dir'], { cwd: path, allowFail: true });
  return res.code === 0;
}

export interface RepoHead {
  /** Top-level directory of the working tree. */
  root: string;
  /** The checked-out branch (short name); null when HEAD is detached. */
  branch: string | null;
  /** The commit HEAD points at. */
  head: string;
}

/**
 * The working tree, branch and HEAD commit of a repository in one git process; null when `path` is not
 * a working tree or HEAD has no commit yet (callers then ask the slower questions for a precise error).
 */
export async function inspectRepo(path: string): Promise<RepoHead | null> {
  if (!existsSync(path)) return null;
  // `--symbolic-full-name` applies to the names after it, so the commit is asked for first.
  const res = await runGit(['rev-parse', '--show-toplevel', 'HEAD^{commit}', '--symbolic-full-name', 'HEAD'], { cwd: path, allowFail: true });
  const [root, head, symbolic] = res.stdout.split('\n');
  if (res.code !== 0 || !root || !symbolic || !head || !isFullOid(head)) return null;
  return { root, branch: symbolic.startsWith('refs/heads/') ? symbolic.slice('refs/heads/'.length) : null, head };
}

/** Top-level directory of the working tree that contains `path`. */
export async function repoRoot(path: string): Promise<string> {
  const res = existsSync(path)
    ? await runGit(['rev-parse', '--show-toplevel'], { cwd: path, allowFail: true })
    : null;
  if (res === null || res.code !== 0) {
    throw new KageError('KAGE_NOT_A_REPO', `Expected \`repo\` to be a git working tree, got ${showValue(path)}`, {
      field: 'repo',
    });
  }
  return res.stdout.trim();
}

/** Absolute path of the repository's shared git directory (the same for all its worktrees). */
export async function gitCommonDir(path: string): Promise<string> {
  const res = existsSync(path)
    ? await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: path, allowFail: true })
    : null;
  if (res === null || res.code !== 0) {
    throw new KageError('KAGE_NOT_A_REPO', `Expected \`repo\` to be a git repository, got ${showValue(path)}`, {
      field: 'repo',
    });
  }
  return res.stdout.trim();
}

/** The branch checked out at `repo` (short name), or null when HEAD is detached. */
export async function currentBranch(repo: string): Promise<string | null> {
  const res = await runGit(['symbolic-ref', '--quiet', 'HEAD'], { cwd: repo, allowFail: true });
  if (res.code !== 0) return null;
  const ref = res.stdout.trim();
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

/** KAGE_BAD_REF: `ref` names no commit in `repo`. */
export function badRefError(repo: string, ref: string): KageError {
  return new KageError('KAGE_BAD_REF', `Expected \`ref\` to name a commit in ${repo}, got ${showValue(ref)}`, {
    field: 'ref',
  });
}

/** Full commit id of `ref`; KAGE_BAD_REF when it names no commit. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  const res = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    cwd: repo,
    allowFail: true,
  });
  const oid = res.stdout.trim();
  if (res.code !== 0 || oid === '') throw badRefError(repo, ref);
  return oid;
}

const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Whether `name` is a full object id (SHA-1 or SHA-256), which names the same object forever. */
export function isFullOid(name: string): boolean {
  return FULL_OID.test(name);
}

export type ObjectKind = 'commit' | 'tree';

/** Object ids of names (each as its kind) in a repository, null where a name is none: resolveObjects, or a faster one. */
export type ObjectResolver = (repo: string, names: readonly { name: string; kind: ObjectKind }[]) => Promise<(string | null)[]>;

/**
 * Resolves several names with one git process: the id of each as a commit (or tree), null where it
 * names none. `cat-file --batch-check` answers each line on its own, where `rev-parse` would stop at
 * the first bad name, and names on stdin can never be taken for options.
 */
export async function resolveObjects(repo: string, names: readonly { name: string; kind: ObjectKind }[]): Promise<(string | null)[]> {
  const answerable = names.map(({ name }) => name !== '' && !/[\n\r\0]/.test(name));
  const input = names.map(({ name, kind }, i) => (answerable[i] ? `${name}^{${kind}}` : '')).join('\n');
  const res = await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
    cwd: repo,
    input: `${input}\n`,
    allowFail: true,
  });
  const lines = res.code === 0 ? res.stdout.split('\n') : [];
  return names.map(({ kind }, i) => {
    const match = answerable[i] ? /^([0-9a-f]{40}|[0-9a-f]{64}) (\w+)$/.exec(lines[i] ?? '') : null;
    return match?.[1] !== undefined && match[2] === kind ? match[1] : null;
  });
}

/** Like resolveCommit for several refs at once: KAGE_BAD_REF names the first that is not a commit. */
export async function resolveCommits(repo: string, refs: readonly string[]): Promise<string[]> {
  const oids = await resolveObjects(repo, refs.map((name) => ({ name, kind: 'commit' as const })));
  return oids.map((oid, i) => {
    if (oid === null) throw badRefError(repo, refs[i] ?? '');
    return oid;
  });
}

const STATUS_ARGS = ['status', '-z', '--untracked-files=all', '--ignore-submodules=none'];

/** Whether the worktree has uncommitted changes: staged, modified, deleted or untracked (not ignored) files. */
export async function isDirty(worktreePath: string): Promise<boolean> {
  const res = await runGit([...STATUS_ARGS, '--porcelain=v1'], { cwd: worktreePath });
  return res.stdout.length > 0;
}

export interface CheckoutState {
  /** The commit checked out; null on an unborn branch. */
  head: string | null;
  /** As isDirty. */
  dirty: boolean;
}

/** The checked-out commit and whether there is uncommitted work, from one `git status`. */
export async function checkoutState(worktreePath: string): Promise<CheckoutState> {
  // --no-ahead-behind: the upstream comparison would walk history for a line nobody reads.
  const res = await runGit([...STATUS_ARGS, '--porcelain=v2', '--branch', '--no-ahead-behind'], { cwd: worktreePath });
  // `# branch.*` headers come first; anything after them is a changed or untracked path.
  let head: string | null = null;
  let dirty = false;
  for (const entry of res.stdout.split('\0')) {
    if (entry === '') continue;
    if (!entry.startsWith('# ')) {
      dirty = true;
      break;
    }
    const oid = /^# branch\.oid ([0-9a-f]{40}|[0-9a-f]{64})$/.exec(entry)?.[1];
    if (oid !== undefined) head = oid;
  }
  return { head, dirty };
}

export async function branchExists(repo: string, branch: string): Promise<boolean> {
  const res = await runGit(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: repo, allowFail: true });
  return res.code === 0;
}

/** Deletes a local branch even when unmerged; false when it did not exist. Throws when it is checked out. */
export async function deleteBranch(repo: string, branch: string): Promise<boolean> {
  const args = ['branch', '-D', '--', branch];
  const res = await runGit(args, { cwd: repo, allowFail: true });
  if (res.code === 0) return true;
  // git says why only in prose; whether the branch is still there tells a missing one from a refusal.
  if (!(await branchExists(repo, branch))) return false;
  throw new KageError('KAGE_GIT_FAILED', `git ${args.join(' ')} failed in ${repo}: ${res.stderr.trim().slice(-STDERR_TAIL_CHARS)}`, {
    details: { args, cwd: repo, code: res.code, stderr: res.stderr },
  });
}

/** Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor). */
export async function isAncestor(repo: string, ancestor: string, descendant: string): Promise<boolean> {
  const res = await runGit(['merge-base', '--is-ancestor', ancestor, descendant], { cwd: repo, allowFail: true });
  if (res.code > 1) {
    throw new KageError('KAGE_GIT_FAILED', `git merge-base --is-ancestor ${ancestor} ${descendant} failed in ${repo}: ${res.stderr.trim()}`);
  }
  return res.code === 0;
}
