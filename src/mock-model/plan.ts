// Decides what the mock model answers to one request: the scenario from the last marker (or the default),
// then a tool call, text, an HTTP error or nothing at all. Protocol modules only render the decision.
import { allTexts, toolResultPending, userTexts, type ParsedRequest } from './conversation.js';
import { findWorkingDirectory } from './cwd.js';
import { valueForSchema } from './json-schema.js';
import { lastMarker } from './marker.js';
import { DEFAULT_TEXT, resolveScenario, ScenarioError, scenarioLabel, type Scenario } from './scenario.js';
import { loopCall, writeCall, type PlannedCall } from './tools.js';
import { MOCK_USAGE, type MockTurnUsage } from './usage.js';

/** A successful answer, in no protocol yet. */
export type Answer =
  | { kind: 'tool'; call: PlannedCall; usage: MockTurnUsage }
  | { kind: 'text'; text: string; usage: MockTurnUsage };

export type Plan =
  | { kind: 'answer'; scenario: string; answer: Answer; delayMs: number }
  | { kind: 'error'; scenario: string; status: number; message: string; headers: Record<string, string> }
  | { kind: 'hang'; scenario: string };

/** OpenCode's title-generation side call: no tools, this system prompt. */
const TITLE_PROMPT = /You are a title generator/i;
const TITLE = 'Mock session';

/**
 * Counts requests per conversation for `flaky`: returns how many came before this one under `key` (the
 * marker and the first user text, the same on every turn and retry of one conversation) and counts this one.
 */
export type RequestCounter = (key: string) => number;

export function planReply(request: ParsedRequest, fallback: Scenario, counter: RequestCounter = () => 0): Plan {
  let scenario: Scenario;
  const texts = userTexts(request);
  try {
    const marker = lastMarker(texts);
    scenario = marker === null ? fallback : resolveScenario(marker.name, marker.options);
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    return { kind: 'error', scenario: 'invalid', status: 400, message: `mock: ${err.message}`, headers: {} };
  }
  const label = scenarioLabel(scenario);
  if (scenario.name === 'error') {
    return { kind: 'error', scenario: label, status: scenario.status, message: `mock ${scenario.status} error`,
      headers: scenario.status === 429 ? { 'retry-after': '1' } : {} };
  }
  if (scenario.name === 'flaky' && counter(JSON.stringify([scenario, texts[0] ?? ''])) < scenario.times) {
    return { kind: 'error', scenario: label, status: scenario.status, message: `mock ${scenario.status} error`,
      headers: scenario.retryAfter === null ? {} : { 'retry-after': scenario.retryAfter } };
  }
  if (scenario.name === 'hang') return { kind: 'hang', scenario: label };
  const delayMs = scenario.name === 'slow' ? scenario.delayMs : 0;
  return { kind: 'answer', scenario: label, answer: answerFor(request, scenario), delayMs };
}

function answerFor(request: ParsedRequest, scenario: Exclude<Scenario, { name: 'error' | 'hang' }>): Answer {
  const side = sideCallText(request);
  if (side !== null) return { kind: 'text', text: side, usage: MOCK_USAGE.sideCall };
  const final = (text: string): Answer => ({ kind: 'text', text, usage: MOCK_USAGE.finalTurn });
  const tool = (call: PlannedCall): Answer => ({ kind: 'tool', call, usage: MOCK_USAGE.toolTurn });
  const cwd = (): string | null => findWorkingDirectory(allTexts(request));
  switch (scenario.name) {
    case 'text':
      return final(scenario.text);
    case 'write':
    case 'slow':
    case 'flaky': {
      if (toolResultPending(request)) return final(`Done. I created ${scenario.file}.`);
      const call = writeCall(request.tools, scenario.file, scenario.content, cwd());
      return call === null ? final(DEFAULT_TEXT) : tool(call);
    }
    case 'loop': {
      const turn = request.messages.reduce((n, m) => n + m.toolResults.length, 0) + 1;
      if (scenario.turns !== null && turn > scenario.turns) return final(`Done after ${scenario.turns} tool turn(s).`);
      const write = turn === 1 && scenario.file !== null ? writeCall(request.tools, scenario.file, scenario.content, cwd()) : null;
      const call = write ?? loopCall(request.tools, turn, cwd());
      return call === null ? final(DEFAULT_TEXT) : tool(call);
    }
  }
}

/** The answer to a side call (JSON mode, or a title request), or null when this is an agent turn. */
function sideCallText(request: ParsedRequest): string | null {
  if (request.responseSchema !== null) return JSON.stringify(valueForSchema(request.responseSchema));
  if (request.tools.length === 0 && request.messages.some((m) => m.role === 'system' && m.texts.some((t) => TITLE_PROMPT.test(t)))) return TITLE;
  return null;
}
