// Setup shared by the agent tests in src/agents: run inputs, provider endpoints, recorded transcripts, parsing
// through an adapter's parser, process results, temp directories, and real child runs with parsed output.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { AgentEvent } from '../../src/domain/index.js';
import { NO_PROVIDERS, type AgentAdapter, type AgentRunInput, type ProviderEndpoints } from '../../src/agents/adapter.js';
import { ProviderError } from '../../src/agents/api-worker/provider.js';
import type { ProcessResult } from '../../src/process/supervisor.js';

/** A run input with nothing configured; the prompt starts like a flag and carries shell syntax, to prove it stays one argument. */
export function agentInput(overrides: Partial<AgentRunInput> = {}): AgentRunInput {
  return {
    prompt: '-x fix it; $(rm -rf /)',
    model: null,
    worktree: '/tmp/wt',
    home: '/tmp/home',
    resumeSessionId: null,
    options: {},
    env: {},
    providers: NO_PROVIDERS,
    binary: null,
    ...overrides,
  };
}

/** `agentInput` with a test file's own defaults (its CLI's binary, its prompt) under each call's overrides. */
export function agentInputWith(defaults: Partial<AgentRunInput>): (overrides?: Partial<AgentRunInput>) => AgentRunInput {
  return (overrides = {}) => agentInput({ ...defaults, ...overrides });
}

/** Anthropic, OpenAI and Gemini each on its own loopback port with its own key, so a test sees which one an adapter takes. */
export const TEST_ENDPOINTS: ProviderEndpoints = Object.freeze({
  ...NO_PROVIDERS,
  anthropic: { baseUrl: 'http://127.0.0.1:4011', apiKey: 'sk-ant' },
  openai: { baseUrl: 'http://127.0.0.1:4012/v1', apiKey: 'sk-oa' },
  gemini: { baseUrl: 'http://127.0.0.1:4010', apiKey: 'gm-key' },
});

/**
 * The lines of a recorded run under test/fixtures: `agent-transcripts` holds the genuine CLIs' output,
 * `transcripts` the Claude stream dialect the fake agent copies and the API worker's recorded runs.
 */
export function transcriptLines(name: string, folder: 'agent-transcripts' | 'transcripts' = 'agent-transcripts'): string[] {
  return readFileSync(new URL(`../fixtures/${folder}/${name}`, import.meta.url), 'utf8').split('\n');
}

/** An adapter, or anything else that makes parsers the way adapters do. */
export type ParserSource = Pick<AgentAdapter, 'createParser'>;

type OutputStream = 'stdout' | 'stderr';

/** Feeds every line to one fresh parser, then ends it: the events of a whole run. */
function parseLines(source: ParserSource, lines: readonly string[], stream: OutputStream = 'stdout'): AgentEvent[] {
  const parser = source.createParser();
  return [...lines.flatMap((line) => parser.line(line, stream)), ...parser.end()];
}

/** `parse(lines)` and `parseRecords(records)`, each a whole run through a fresh parser from `source`. */
export function parsing(source: ParserSource): {
  parse: (lines: readonly string[], stream?: OutputStream) => AgentEvent[];
  parseRecords: (records: readonly unknown[]) => AgentEvent[];
} {
  return {
    parse: (lines, stream) => parseLines(source, lines, stream),
    parseRecords: (records) => parseLines(source, records.map((r) => JSON.stringify(r))),
  };
}

/** The events of one kind, typed as that kind. */
export function eventsOfKind<K extends AgentEvent['kind']>(events: readonly AgentEvent[], kind: K): Extract<AgentEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<AgentEvent, { kind: K }> => e.kind === kind);
}

/** A process that ran for five seconds and exited with `exitCode`, nothing else wrong unless `extra` says so. */
export function exitedWith(exitCode: number | null, extra: Partial<ProcessResult> = {}): ProcessResult {
  return {
    exitCode, signal: null, timedOut: false, cancelled: false, durationMs: 5_000, stderrTail: '', spawnError: null,
    outputTruncated: false, linesTruncated: 0, pid: 7,
    ...extra,
  };
}

/** A new directory holding `files` (paths relative to it), removed when the current test finishes. */
export function tempDir(files: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kage-agent-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

export interface ParsedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The whole stdout through the parser. */
  events: AgentEvent[];
}

/** Runs argv as a real child the way the supervisor does, stdin closed and only PATH and `env` in its environment. */
export function runParsed(argv: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; parser: ParserSource }): Promise<ParsedRun> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, events: parseLines(opts.parser, stdout.split('\n')) }));
  });
}

/** The ProviderError a provider call failed with; throws when it succeeded or failed some other way. */
export async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  if (!(err instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(err)}`);
  return err;
}
