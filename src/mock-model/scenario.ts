// Scenarios: what the mock model does with a request, chosen by a `[[mock:NAME key=value ...]]` marker in
// the conversation or by the server's default.

/** One scenario with its options resolved. */
export type Scenario =
  /** Call the agent's own write tool to create `file`, then answer with final text once a tool result is back. */
  | { name: 'write'; file: string; content: string }
  /** Answer with text only. */
  | { name: 'text'; text: string }
  /** Answer with HTTP `status` and the protocol's error body. */
  | { name: 'error'; status: number }
  /** Like `write`, but wait `delayMs` before each streamed chunk (before the body when not streaming). */
  | { name: 'slow'; file: string; content: string; delayMs: number }
  /** Accept the request and never answer, until the client disconnects or the server closes. */
  | { name: 'hang' }
  /**
   * Every answer is another tool call; with `file`, the first one creates it (work to keep). Never finishes,
   * or with `turns`, answers with final text once that many tool results are back.
   */
  | { name: 'loop'; file: string | null; content: string; turns: number | null }
  /**
   * Answer the first `times` requests of a conversation with HTTP `status` (with `Retry-After: retryAfter`
   * seconds when given), then like `write`: an upstream that recovers, for retry tests.
   */
  | { name: 'flaky'; status: number; times: number; retryAfter: string | null; file: string; content: string };

export const DEFAULT_FILE = 'hello.txt';
export const DEFAULT_CONTENT = 'hello from mock\n';
export const DEFAULT_TEXT = 'Hello from mock.';
export const DEFAULT_DELAY_MS = 200;

/** A marker or default that names no scenario, or gives a bad option value. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Builds the scenario `name` with `options` (already percent-decoded); throws ScenarioError when invalid. */
export function resolveScenario(name: string, options: Readonly<Record<string, string>> = {}): Scenario {
  const error = /^error(\d{3})$/.exec(name);
  if (error) {
    const status = Number(error[1]);
    if (status < 400 || status > 599) throw new ScenarioError(`Expected an error status between 400 and 599 in \`${name}\`, got ${status}`);
    return { name: 'error', status };
  }
  switch (name) {
    case 'write':
      return { name, file: fileOption(options), content: options.content ?? DEFAULT_CONTENT };
    case 'slow':
      return { name, file: fileOption(options), content: options.content ?? DEFAULT_CONTENT, delayMs: delayOption(options) };
    case 'text':
      return { name, text: options.text ?? DEFAULT_TEXT };
    case 'hang':
      return { name };
    case 'loop':
      return { name, file: options.file === undefined ? null : fileOption(options), content: options.content ?? DEFAULT_CONTENT,
        turns: options.turns === undefined ? null : countOption(options, 'turns', 1) };
    case 'flaky':
      return { name, status: flakyStatus(options), times: countOption(options, 'times', 1), retryAfter: retryAfterOption(options),
        file: fileOption(options), content: options.content ?? DEFAULT_CONTENT };
    default:
      throw new ScenarioError(`Unknown mock scenario \`${name}\`; expected write, text, slow, hang, loop, flaky or errorNNN`);
  }
}

/** The name a scenario is logged under (`error429`, not `error`). */
export function scenarioLabel(scenario: Scenario): string {
  return scenario.name === 'error' ? `error${scenario.status}` : scenario.name;
}

function fileOption(options: Readonly<Record<string, string>>): string {
  const file = options.file ?? DEFAULT_FILE;
  if (file.trim() === '' || file.includes('\0')) throw new ScenarioError(`Expected \`file\` to be a file name, got ${JSON.stringify(file)}`);
  return file;
}

function delayOption(options: Readonly<Record<string, string>>): number {
  const raw = options.delayMs;
  if (raw === undefined) return DEFAULT_DELAY_MS;
  const delayMs = Number(raw);
  if (!/^\d+$/.test(raw) || delayMs > 600_000) throw new ScenarioError(`Expected \`delayMs\` between 0 and 600000, got ${JSON.stringify(raw)}`);
  return delayMs;
}

function flakyStatus(options: Readonly<Record<string, string>>): number {
  const raw = options.status ?? '429';
  const status = Number(raw);
  if (!/^\d{3}$/.test(raw) || status < 400 || status > 599) throw new ScenarioError(`Expected \`status\` between 400 and 599, got ${JSON.stringify(raw)}`);
  return status;
}

function countOption(options: Readonly<Record<string, string>>, name: string, fallback: number): number {
  const raw = options[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 1000) throw new ScenarioError(`Expected \`${name}\` between 0 and 1000, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function retryAfterOption(options: Readonly<Record<string, string>>): string | null {
  const raw = options.retryAfter;
  if (raw === undefined) return null;
  if (!/^\d+$/.test(raw) || Number(raw) > 3600) throw new ScenarioError(`Expected \`retryAfter\` between 0 and 3600 seconds, got ${JSON.stringify(raw)}`);
  return raw;
}
