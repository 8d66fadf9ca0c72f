// Adapter `fake`: runs the scripted fake agent (fake-agent.ts) with the current Node, parsed as Claude Code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { FAKE_BEHAVIOURS, FAKE_DEFAULTS, isFakeBehaviour, parseFakeTokens } from './fake-behaviours.js';

/**
 * Absolute path of the compiled fake agent. From `dist/` it sits beside this module; when this module runs
 * from `src/` (under vitest) the script still has to be the compiled one, since Node cannot run the `.ts`.
 */
export function fakeAgentPath(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(moduleUrl);
  const dir = path.dirname(here);
  if (here.endsWith('.ts')) return path.resolve(dir, '..', '..', 'dist', 'agents', 'fake-agent.js');
  return path.join(dir, 'fake-agent.js');
}

/** The options the fake agent understands, and the flag each becomes. */
const OPTION_FLAGS = [
  ['file', '--file', 'text'],
  ['content', '--content', 'text'],
  ['delayMs', '--delay-ms', 'integer'],
  ['floodBytes', '--flood-bytes', 'integer'],
  ['tokens', '--tokens', 'tokens'],
  ['errorStatus', '--error-status', 'integer'],
] as const;

export function buildFakeCommand(input: AgentRunInput): AgentCommand {
  const behaviour = input.options.behaviour ?? FAKE_DEFAULTS.behaviour;
  if (!isFakeBehaviour(behaviour)) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.behaviour\` to be one of ${FAKE_BEHAVIOURS.join(', ')}; got ${showValue(behaviour)}`, {
      field: 'options.behaviour',
    });
  }
  const argv = [process.execPath, fakeAgentPath(), '-p', input.prompt, '--behaviour', behaviour];
  if (input.model !== null && input.model !== '') argv.push('--model', input.model);
  for (const [key, flag, kind] of OPTION_FLAGS) {
    const value = input.options[key];
    if (value === undefined || value === null) continue;
    argv.push(flag, optionValue(key, kind, value));
  }
  return { argv, env: {}, stdin: { kind: 'ignore' }, homeFiles: [] };
}

function optionValue(key: string, kind: 'text' | 'integer' | 'tokens', value: unknown): string {
  const field = `options.${key}`;
  if (kind === 'text') {
    if (typeof value === 'string' && (key !== 'file' || value !== '')) return value;
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be a${key === 'file' ? ' non-empty' : ''} string; got ${showValue(value)}`, { field });
  }
  const text = typeof value === 'number' ? String(value) : value;
  if (kind === 'integer') {
    if (typeof text === 'string' && /^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return text;
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be a non-negative integer; got ${showValue(value)}`, { field });
  }
  if (typeof text === 'string' && parseFakeTokens(text) !== null) return text;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`${field}\` to be a token count N or "input,output[,cacheRead[,cacheWrite]]"; got ${showValue(value)}`, {
    field,
  });
}

export const fakeAdapter: AgentAdapter = Object.freeze({
  id: 'fake',
  aliases: Object.freeze([]),
  description: 'Scripted fake agent (no model); options.behaviour picks what it does',
  supportsResume: false,
  buildCommand: buildFakeCommand,
  createParser: createClaudeStreamParser,
});
