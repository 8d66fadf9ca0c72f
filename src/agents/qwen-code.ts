// Adapter `qwen-code` (v1: `qwen`): Qwen Code run headless against an OpenAI-compatible endpoint,
// `qwen --auth-type openai --yolo -o stream-json --prompt=…`. Its stream copies Claude Code's, so the Claude
// stream parser reads it in its `qwen` dialect.
import type { AgentAdapter, AgentCommand, AgentOutputParser, AgentRunInput } from './adapter.js';
import { createClaudeStreamParser } from './claude-stream-parser.js';
import { cliExecutable, extraArgs, modelOf, positiveIntegerOption, refuseOwnedFlags } from './cli-common.js';
import { CLI_PINS } from './cli-pins.js';

/** Flags kage sets itself: the parser reads stream-json, the endpoint is OpenAI's, and the prompt goes in once. */
const OWNED_FLAGS = ['-o', '--output-format', '-p', '--prompt', '-i', '--prompt-interactive', '--auth-type', '--input-format'];

/**
 * `~/.qwen/settings.json` in the clone's private HOME, in the settings format of the pinned 0.15 (`$version`
 * 4, where the update switch is `general.enableAutoUpdate`). Usage statistics go to Aliyun unless turned off.
 * Managed auto-memory is off because it is a second model call after every run, spending tokens on notes
 * for a HOME that is thrown away.
 *
 * Retries: `maxRetries` is the OpenAI SDK's own (3 by default, so 28 requests on a 500). Around it Qwen
 * retries 429s and 5xx up to 7 times with backoff (about 77 s), and nothing turns that loop off; kage's
 * timeout is what bounds it.
 */
export function qwenSettings(): Record<string, unknown> {
  return {
    $version: 4,
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { enableAutoUpdate: false },
    memory: { enableManagedAutoMemory: false },
    model: { generationConfig: { maxRetries: 0 } },
  };
}

export function buildQwenCodeCommand(input: AgentRunInput): AgentCommand {
  const args = refuseOwnedFlags(extraArgs(input.options.args), OWNED_FLAGS, 'kage passes the prompt and reads the stream-json output');
  const rawMaxTurns = input.options.maxTurns;
  const maxTurns = rawMaxTurns === undefined || rawMaxTurns === null ? null : positiveIntegerOption('maxTurns', rawMaxTurns);
  const model = modelOf(input);
  const argv = [cliExecutable(input, CLI_PINS['qwen-code']), '--auth-type', 'openai', '--yolo', '--output-format', 'stream-json'];
  if (model !== null) argv.push(`--model=${model}`);
  if (maxTurns !== null) argv.push(`--max-session-turns=${maxTurns}`);
  if (input.resumeSessionId !== null) argv.push(`--resume=${input.resumeSessionId}`);
  // Not the positional prompt: yargs reads one that starts with `-` as flags (and `--` does not help), and
  // one that names a subcommand (`mcp`, `review`, `auth`) runs that command. The `=` form is always the prompt.
  argv.push(...args, `--prompt=${input.prompt}`);

  // The YOLO warning switch is for newer releases; 0.15 prints no warning in headless mode.
  const env: Record<string, string> = { QWEN_CODE_SUPPRESS_YOLO_WARNING: '1' };
  const { baseUrl, apiKey } = input.providers.openai;
  if (baseUrl !== null) env.OPENAI_BASE_URL = baseUrl;
  if (apiKey !== null) env.OPENAI_API_KEY = apiKey;
  if (model !== null) env.OPENAI_MODEL = model;
  return {
    argv,
    env,
    stdin: { kind: 'ignore' },
    homeFiles: [{ path: '.qwen/settings.json', content: `${JSON.stringify(qwenSettings(), null, 2)}\n` }],
  };
}

export function createQwenStreamParser(): AgentOutputParser {
  return createClaudeStreamParser('qwen');
}

export const qwenCodeAdapter: AgentAdapter = Object.freeze({
  id: 'qwen-code',
  aliases: Object.freeze(['qwen']),
  description:
    'Qwen Code, headless (`qwen --auth-type openai --yolo -o stream-json`), with OPENAI_BASE_URL and OPENAI_API_KEY from providers.openai; options.maxTurns caps its turns',
  supportsResume: true,
  provider: 'openai',
  cli: CLI_PINS['qwen-code'],
  buildCommand: buildQwenCodeCommand,
  createParser: createQwenStreamParser,
});
