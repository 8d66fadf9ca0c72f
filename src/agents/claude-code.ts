// Adapter `claude-code` (v1: `claude`): Anthropic's Claude Code run headless, `claude -p … --output-format
// stream-json --verbose`, parsed by the Claude stream parser.
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentRunInput } from './adapter.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { cliExecutable, extraArgs, modelOf, refuseOwnedFlags } from './cli-common.js';
import { CLI_PINS } from './cli-pins.js';

/** `--permission-mode` values Claude Code 2.1 accepts. */
export const CLAUDE_PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'manual', 'dontAsk', 'plan'] as const;

/** Flags kage sets itself: the parser reads stream-json, and `-p` is what makes the run headless. */
const OWNED_FLAGS = ['-p', '--print', '--output-format', '--input-format'];

/**
 * Turns off what a headless run does not need: telemetry, error reports, the update check and other
 * non-essential calls, which otherwise reach api.anthropic.com even with a local base URL. No retries of
 * its own (the default is 10 with backoff, minutes on a 5xx): kage's timeout and retry policy decide.
 */
const QUIET_ENV: Readonly<Record<string, string>> = Object.freeze({
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
  CLAUDE_CODE_MAX_RETRIES: '0',
});

export function buildClaudeCodeCommand(input: AgentRunInput): AgentCommand {
  const args = refuseOwnedFlags(extraArgs(input.options.args), OWNED_FLAGS, 'kage runs Claude Code headless and reads its stream-json output');
  const mode = permissionMode(input.options.permissionMode);
  const model = modelOf(input);
  const argv = [cliExecutable(input, CLI_PINS['claude-code']), '-p', '--output-format', 'stream-json', '--verbose'];
  // In the default mode a headless run may only read: edits and commands wait for an approval nobody can give.
  argv.push(...(mode === null ? ['--dangerously-skip-permissions'] : ['--permission-mode', mode]));
  if (model !== null) argv.push('--model', model);
  if (input.resumeSessionId !== null) argv.push('--resume', input.resumeSessionId);
  // `--` keeps a prompt that starts with `-`, or names a subcommand (`mcp`, `update`), the prompt.
  argv.push(...args, '--', input.prompt);

  const env: Record<string, string> = { ...QUIET_ENV };
  const { baseUrl, apiKey } = input.providers.anthropic;
  if (baseUrl !== null) env.ANTHROPIC_BASE_URL = withoutV1(baseUrl);
  if (apiKey !== null) env.ANTHROPIC_API_KEY = apiKey;
  // Claude Code refuses to bypass permissions as root unless told it runs in a sandbox; a clone's worktree is one.
  if ((mode === null || mode === 'bypassPermissions') && process.getuid?.() === 0) env.IS_SANDBOX = '1';
  return { argv, env, stdin: { kind: 'ignore' }, homeFiles: [] };
}

function permissionMode(value: unknown): (typeof CLAUDE_PERMISSION_MODES)[number] | null {
  if (value === undefined || value === null) return null;
  const mode = CLAUDE_PERMISSION_MODES.find((m) => m === value);
  if (mode !== undefined) return mode;
  throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.permissionMode\` to be one of ${CLAUDE_PERMISSION_MODES.join(', ')}; got ${showValue(value)}`, {
    field: 'options.permissionMode',
  });
}

/** Claude Code appends `/v1/messages` itself, so a base URL given with `/v1` would ask for `/v1/v1/messages`. */
function withoutV1(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

export const claudeCodeAdapter: AgentAdapter = Object.freeze({
  id: 'claude-code',
  aliases: Object.freeze(['claude']),
  description:
    "Anthropic's Claude Code, headless (`claude -p … --output-format stream-json`), with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY from providers.anthropic; options.permissionMode replaces the permission bypass",
  supportsResume: true,
  provider: 'anthropic',
  cli: CLI_PINS['claude-code'],
  // A subscription's OAuth login (`claude` then /login); Claude Code sends it as a Bearer token to ANTHROPIC_BASE_URL.
  loginFiles: Object.freeze(['.claude/.credentials.json']),
  buildCommand: buildClaudeCodeCommand,
  createParser: () => createClaudeStreamParser('claude'),
});
