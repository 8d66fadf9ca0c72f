import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, killProcessGroup, runProcess, type ProcessResult, type SpawnSpec } from './supervisor.js';

const node = process.execPath;
let dir = '';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kage-supervisor-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function spec(script: string, overrides: Partial<SpawnSpec> = {}): SpawnSpec {
  return { argv: [node, '-e', script], cwd: dir, env, stdin: { kind: 'ignore' }, timeoutMs: 20_000, ...overrides };
}

/** Runs and collects every line. */
async function run(s: SpawnSpec): Promise<{ result: ProcessResult; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await runProcess({
    ...s,
    onLine: (line, stream) => {
      (stream === 'stdout' ? stdout : stderr).push(line);
      s.onLine?.(line, stream);
    },
  });
  return { result, stdout, stderr };
}

/** Polls `condition` until it holds or `timeoutMs` passes, then fails with the last state seen. */
async function waitFor(what: string, condition: () => boolean, describeState: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last state: ${describeState()}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Pid printed on a `label <pid>` line. */
function pidFrom(lines: string[], label: string): number | null {
  const line = lines.find((l) => l.startsWith(`${label} `));
  return line === undefined ? null : Number(line.slice(label.length + 1));
}

// A leader that ignores SIGTERM and starts a grandchild (same group) that ignores it too.
const stubbornFamily = `
  const { spawn } = require('node:child_process');
  process.on('SIGTERM', () => console.log('leader ignores SIGTERM'));
  console.log('leader ' + process.pid);
  spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('grandchild ' + process.pid); setInterval(() => {}, 1000);"], { stdio: 'inherit' });
  setInterval(() => {}, 1000);
`;

describe('runProcess', () => {
  it('passes an argument with shell syntax verbatim and executes nothing', async () => {
    const marker = join(dir, 'X');
    const evil = `$(touch ${marker}) \`touch ${marker}\`; touch ${marker}\ntouch ${marker} && echo "$HOME" '|' > ${marker}`;
    const echo = 'console.log(JSON.stringify(process.argv.slice(1)))';
    const { result, stdout } = await run(spec(echo, { argv: [node, '-e', echo, evil, '*'] }));
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(stdout[0] ?? 'null')).toEqual([evil, '*']);
    expect(existsSync(marker)).toBe(false);
  });

  it('kills the whole process group when the clone times out', async () => {
    const lines: string[] = [];
    const timeoutMs = 2_000;
    const killGraceMs = 300;
    const { result } = await run(spec(stubbornFamily, { timeoutMs, killGraceMs, onLine: (line) => lines.push(line) }));
    const leader = pidFrom(lines, 'leader');
    const grandchild = pidFrom(lines, 'grandchild');
    expect(leader).toBe(result.pid);
    expect(grandchild).not.toBeNull();
    expect(result.timedOut).toBe(true);
    expect(result.cancelled).toBe(false);
    expect(result.signal).toBe('SIGKILL');
    expect(result.exitCode).toBeNull();
    expect(lines).toContain('leader ignores SIGTERM');
    expect(isProcessAlive(leader ?? 0)).toBe(false);
    expect(isProcessAlive(grandchild ?? 0)).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(timeoutMs + killGraceMs - 50);
    expect(result.durationMs).toBeLessThan(timeoutMs + killGraceMs + 2_500);
  });

  it('kills the whole process group on cancel', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const started = Date.now();
    const { result } = await run(
      spec(stubbornFamily, {
        killGraceMs: 300,
        signal: controller.signal,
        onLine: (line) => {
          lines.push(line);
          if (line.startsWith('grandchild ')) controller.abort();
        },
      }),
    );
    const grandchild = pidFrom(lines, 'grandchild');
    expect(grandchild).not.toBeNull();
    expect(result.cancelled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(isProcessAlive(result.pid ?? 0)).toBe(false);
    expect(isProcessAlive(grandchild ?? 0)).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not spawn when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    let spawned = false;
    const marker = join(dir, 'spawned');
    const result = await runProcess(
      spec(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, '')`, { signal: controller.signal, onSpawn: () => (spawned = true) }),
    );
    expect(result.cancelled).toBe(true);
    expect(result.pid).toBeNull();
    expect(spawned).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('caps a 5 MB line and 50 MB of output and still resolves', async () => {
    const script = `
      const mb = 1024 * 1024;
      process.stdout.write(Buffer.alloc(5 * mb, 'a'));
      process.stdout.write('\\n');
      const line = Buffer.alloc(1024, 'b'); line[1023] = 10;
      const block = Buffer.concat(Array.from({ length: 1024 }, () => line));
      for (let i = 0; i < 45; i += 1) process.stdout.write(block);
    `;
    const maxLineBytes = 1024 * 1024;
    const maxOutputBytes = 20 * 1024 * 1024;
    let lineCount = 0;
    let longest = 0;
    let deliveredChars = 0;
    let first: string | undefined;
    const result = await runProcess(
      spec(script, {
        maxLineBytes,
        maxOutputBytes,
        onLine: (line) => {
          first ??= line;
          lineCount += 1;
          longest = Math.max(longest, line.length);
          deliveredChars += line.length;
        },
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputTruncated).toBe(true);
    expect(result.linesTruncated).toBeGreaterThanOrEqual(1);
    expect(first).toBe('a'.repeat(maxLineBytes));
    expect(longest).toBeLessThanOrEqual(maxLineBytes);
    expect(deliveredChars).toBeLessThanOrEqual(maxOutputBytes);
    // Past the 20 MiB cap the remaining ~30 MB of lines were read and discarded.
    expect(lineCount).toBeLessThan(16 * 1024);
    expect(lineCount).toBeGreaterThan(10 * 1024);
  });

  it('keeps only the cap of a 50 MB line without a newline', async () => {
    const script = `const chunk = Buffer.alloc(1024 * 1024, 'z'); for (let i = 0; i < 50; i += 1) process.stdout.write(chunk);`;
    const { result, stdout } = await run(spec(script, { maxLineBytes: 64 * 1024 }));
    expect(result.exitCode).toBe(0);
    expect(result.outputTruncated).toBe(false);
    expect(result.linesTruncated).toBe(1);
    expect(stdout).toEqual(['z'.repeat(64 * 1024)]);
  });

  it('reports the exit code and the stderr tail', async () => {
    const script = `process.stderr.write('x'.repeat(20000) + '\\nsomething broke\\n'); process.exitCode = 3;`;
    const { result, stderr } = await run(spec(script));
    expect(result.exitCode).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.spawnError).toBeNull();
    expect(result.stderrTail.endsWith('something broke\n')).toBe(true);
    expect(Buffer.byteLength(result.stderrTail)).toBe(8 * 1024);
    expect(stderr).toEqual(['x'.repeat(20000), 'something broke']);
  });

  it('reports the signal that killed the process', async () => {
    const { result } = await run(spec(`process.kill(process.pid, 'SIGKILL')`));
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    expect(result.timedOut).toBe(false);
    expect(result.cancelled).toBe(false);
  });

  it('reports a missing executable as a spawn error', async () => {
    const result = await runProcess({ ...spec(''), argv: [join(dir, 'no-such-agent'), '--help'] });
    expect(result.spawnError).toMatch(/ENOENT/);
    expect(result.pid).toBeNull();
    expect(result.exitCode).toBeNull();
  });

  it('reports a missing working directory as a spawn error', async () => {
    const result = await runProcess(spec('', { cwd: join(dir, 'gone') }));
    expect(result.spawnError).toMatch(/working directory .*gone does not exist/);
  });

  it('reports a non-executable file as a spawn error', async () => {
    const result = await runProcess({ ...spec(''), argv: [dir] });
    expect(result.spawnError).toMatch(/EACCES/);
  });

  it('pipes the prompt on stdin when asked', async () => {
    const prompt = 'fix the bug\nin `main.ts` $(rm -rf /)\n';
    const script = `let s = ''; process.stdin.setEncoding('utf8').on('data', (d) => (s += d)).on('end', () => console.log(JSON.stringify(s)));`;
    const { result, stdout } = await run(spec(script, { stdin: { kind: 'text', text: prompt } }));
    expect(result.exitCode).toBe(0);
    expect(stdout).toEqual([JSON.stringify(prompt)]);
  });

  it('closes stdin when no prompt is piped', async () => {
    const script = `let n = 0; process.stdin.on('data', (d) => (n += d.length)).on('end', () => console.log('eof ' + n));`;
    const { result, stdout } = await run(spec(script, { timeoutMs: 10_000 }));
    expect(result.timedOut).toBe(false);
    expect(stdout).toEqual(['eof 0']);
  });

  it('does not hang when a grandchild keeps the pipes open after the leader exits', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      console.log('grandchild ' + c.pid);
      process.exit(0);
    `;
    const { result, stdout } = await run(spec(script));
    const grandchild = pidFrom(stdout, 'grandchild');
    try {
      expect(result.exitCode).toBe(0);
      expect(result.timedOut).toBe(false);
      expect(grandchild).not.toBeNull();
      expect(isProcessAlive(grandchild ?? 0)).toBe(true);
      expect(result.durationMs).toBeLessThan(6_000);
    } finally {
      killProcessGroup(result.pid ?? 0, 'SIGKILL');
      await waitFor('the grandchild to die', () => !isProcessAlive(grandchild ?? 0), () => `pid ${grandchild} alive`);
    }
  });

  it('reports the pid to onSpawn before the process ends', async () => {
    let seen: number | null = null;
    let aliveAtSpawn = false;
    const result = await runProcess(
      spec(`process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`, {
        stdin: { kind: 'text', text: 'x' },
        onSpawn: (pid) => {
          seen = pid;
          aliveAtSpawn = isProcessAlive(pid);
        },
      }),
    );
    expect(seen).toBe(result.pid);
    expect(aliveAtSpawn).toBe(true);
  });
});
