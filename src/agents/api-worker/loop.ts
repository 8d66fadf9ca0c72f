// The agent loop: ask the model, run the tools it calls, hand back their results, until it answers
// without a tool call or the turn limit is reached. Prints every step as a WorkerRecord.
import { randomUUID } from 'node:crypto';
import type { RecordWriter } from './output.js';
import { ProviderError, type ChatMessage, type ChatTurn, type Provider } from './provider.js';
import type { WorkerErrorKind } from './records.js';
import { runTool, type ToolContext } from './tools/index.js';
import { TOOL_SPECS } from './tools/specs.js';

export interface LoopOptions {
  provider: Provider;
  providerName: string;
  model: string;
  prompt: string;
  maxTurns: number;
  /** Cap on each answer's tokens; null = the provider's default. */
  maxTokens: number | null;
  tools: ToolContext;
  out: RecordWriter;
}

function systemPrompt(cwd: string): string {
  return [
    `You are a coding agent working in a git checkout at ${cwd}. Complete the user's task by changing files with your tools.`,
    'Paths are relative to that directory and must stay inside it. run_command takes an argv array and runs no shell.',
    'Read a file before editing it. When the task is done, reply with a short summary and no tool call.',
  ].join('\n');
}

/** Runs the conversation; returns whether the model finished the task. */
export async function runAgentLoop(opts: LoopOptions): Promise<boolean> {
  const { provider, out } = opts;
  const startedAt = Date.now();
  let turns = 0;
  const finish = async (ok: boolean, text: string): Promise<boolean> => {
    await out.write({ type: 'result', ok, text, num_turns: turns, duration_ms: Date.now() - startedAt });
    return ok;
  };
  const fail = async (err: { message: string; kind: WorkerErrorKind; status: number | null }): Promise<boolean> => {
    await out.write({ type: 'error', kind: err.kind, status: err.status, message: err.message });
    return finish(false, err.message);
  };

  await out.write({
    type: 'session', session_id: randomUUID(), provider: opts.providerName, model: opts.model,
    cwd: opts.tools.workspace.root, tools: TOOL_SPECS.map((spec) => spec.name),
  });
  try {
    await provider.probe();
  } catch (err) {
    if (err instanceof ProviderError) return fail(err);
    throw err;
  }

  const messages: ChatMessage[] = [
    { role: 'system', text: systemPrompt(opts.tools.workspace.root) },
    { role: 'user', text: opts.prompt },
  ];
  while (turns < opts.maxTurns) {
    turns += 1;
    let answer: ChatTurn;
    try {
      answer = await provider.chat({ model: opts.model, messages, tools: TOOL_SPECS, maxTokens: opts.maxTokens });
    } catch (err) {
      if (err instanceof ProviderError) return fail(err);
      throw err;
    }
    await out.write({
      type: 'usage', input_tokens: answer.inputTokens, output_tokens: answer.outputTokens,
      cache_read_tokens: answer.cacheReadTokens, cache_write_tokens: answer.cacheWriteTokens,
    });
    if (answer.text.trim() !== '') await out.write({ type: 'message', text: answer.text });
    messages.push({ role: 'assistant', text: answer.text, toolCalls: answer.toolCalls });
    if (answer.toolCalls.length === 0) return finish(true, answer.text.trim());
    for (const call of answer.toolCalls) {
      await out.write({ type: 'tool_use', id: call.id, name: call.name, input: call.input });
      const outcome = await runTool(call.name, call.input, opts.tools);
      await out.write({ type: 'tool_result', id: call.id, output: outcome.output, is_error: outcome.isError });
      messages.push({ role: 'tool', callId: call.id, name: call.name, output: outcome.output, isError: outcome.isError });
    }
  }
  const message = `Stopped after ${opts.maxTurns} turns without a final answer (raise the agent's maxTurns option)`;
  return fail({ message, kind: 'budget', status: null });
}
