// Adapter `shell`: runs any command given as an argv template. No shell is involved: placeholders are
// substituted inside argv elements, so a prompt stays one element whatever characters it holds.
import { KageError, showValue } from '../domain/index.js';
import type { AgentAdapter, AgentCommand, AgentOutputParser, AgentRunInput } from './adapter.js';
import { clipText } from './event-text.js';

/** Longest stdout line kept as one message. */
export const SHELL_MAX_LINE_CHARS = 4_000;

const PLACEHOLDER = /\{(prompt|model|worktree)\}/g;

export function buildShellCommand(input: AgentRunInput): AgentCommand {
  const template = input.options.argv;
  if (!Array.isArray(template) || template.length === 0 || !template.every((el) => typeof el === 'string')) {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.argv\` to be a non-empty array of strings; got ${showValue(template)}`, {
      field: 'options.argv',
    });
  }
  const elements = template as string[];
  const hasPromptPlaceholder = elements.some((el) => el.includes('{prompt}'));
  const promptVia = input.options.promptVia ?? (hasPromptPlaceholder ? 'arg' : 'stdin');
  if (promptVia !== 'arg' && promptVia !== 'stdin') {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.promptVia\` to be "arg" or "stdin"; got ${showValue(promptVia)}`, {
      field: 'options.promptVia',
    });
  }
  const values: Record<string, string> = { prompt: input.prompt, model: input.model ?? '', worktree: input.worktree };
  // One pass with a callback: text substituted in (a prompt containing `{model}`) is never re-expanded.
  const argv = elements.map((el) => el.replace(PLACEHOLDER, (_match, name: string) => values[name] ?? ''));
  if (promptVia === 'arg' && !hasPromptPlaceholder) argv.push(input.prompt);
  if (argv[0] === undefined || argv[0] === '') {
    throw new KageError('KAGE_INVALID_INPUT', `Expected \`options.argv[0]\` to name an executable; got ${showValue(elements[0])}`, {
      field: 'options.argv',
    });
  }
  return {
    argv,
    env: {},
    stdin: promptVia === 'stdin' ? { kind: 'text', text: input.prompt } : { kind: 'ignore' },
    homeFiles: [],
  };
}

/** Every non-empty stdout line is a message; success is the exit code's call, so the result is always ok. */
export function createShellParser(): AgentOutputParser {
  let ended = false;
  return {
    line(text, stream) {
      if (stream !== 'stdout' || typeof text !== 'string') return [];
      const trimmed = text.trim();
      return trimmed === '' ? [] : [{ kind: 'message', text: clipText(trimmed, SHELL_MAX_LINE_CHARS) }];
    },
    end() {
      if (ended) return [];
      ended = true;
      return [{ kind: 'result', ok: true, text: 'exited', numTurns: null, durationMs: null }];
    },
  };
}

export const shellAdapter: AgentAdapter = Object.freeze({
  id: 'shell',
  aliases: Object.freeze([]),
  description: 'Any command, from the argv template in options.argv ({prompt}, {model}, {worktree})',
  supportsResume: false,
  buildCommand: buildShellCommand,
  createParser: createShellParser,
});
