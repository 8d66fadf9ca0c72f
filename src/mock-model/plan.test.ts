import { describe, expect, it } from 'vitest';
import type { NeutralMessage, OfferedTool, ParsedRequest } from './conversation.js';
import { findWorkingDirectory } from './cwd.js';
import { planReply, type Plan } from './plan.js';
import { resolveScenario } from './scenario.js';
import { addFilePatch, writeScript } from './tools.js';
import { MOCK_USAGE } from './usage.js';

const WRITE = resolveScenario('write');

function fn(name: string, ...parameters: string[]): OfferedTool {
  return { name, kind: 'function', parameters };
}

function user(...texts: string[]): NeutralMessage {
  return { role: 'user', texts, toolResults: [] };
}

function system(...texts: string[]): NeutralMessage {
  return { role: 'system', texts, toolResults: [] };
}

function toolResult(output = 'ok'): NeutralMessage {
  return { role: 'user', texts: [], toolResults: [output] };
}

function request(messages: NeutralMessage[], tools: OfferedTool[] = [], extra: Partial<ParsedRequest> = {}): ParsedRequest {
  return { model: 'm', stream: true, streamUsage: true, messages, tools, responseSchema: null, ...extra };
}

function call(plan: Plan): { name: string; arguments?: Record<string, unknown>; input?: string } {
  if (plan.kind !== 'answer' || plan.answer.kind !== 'tool') throw new Error(`expected a tool call, got ${JSON.stringify(plan)}`);
  return plan.answer.call;
}

describe('findWorkingDirectory', () => {
  it('reads each CLI\'s own statement of its working directory', () => {
    expect(findWorkingDirectory(['# Environment\n - Primary working directory: /w/claude\n - Is a git repository: true'])).toBe('/w/claude');
    expect(findWorkingDirectory(['<environment_context>\n  <cwd>/w/codex</cwd>\n  <shell>bash</shell>'])).toBe('/w/codex');
    expect(findWorkingDirectory(['<session_context>\n- **Workspace Directories:**\n  - /w/gemini\n- **Directory Structure:**'])).toBe('/w/gemini');
    expect(findWorkingDirectory(['<env>\n  Working directory: /w/opencode\n  Workspace root folder: /w/opencode\n</env>'])).toBe('/w/opencode');
    expect(findWorkingDirectory(["My operating system is: linux\nI'm currently working in the directory: /w/qwen\nHere is"])).toBe('/w/qwen');
  });

  it('returns null when no text states one', () => {
    expect(findWorkingDirectory(['Working directory: relative/path', 'nothing here'])).toBeNull();
  });
});

describe('planReply for write', () => {
  it('calls each agent\'s write tool with the path form it expects', () => {
    const cwd = system('Primary working directory: /w');
    const plan = (tools: OfferedTool[]) => call(planReply(request([cwd, user('go')], tools), WRITE));
    expect(plan([fn('Bash', 'command'), fn('Write', 'file_path', 'content')])).toEqual({ kind: 'function', name: 'Write', arguments: { file_path: '/w/hello.txt', content: 'hello from mock\n' } });
    expect(plan([fn('write', 'filePath', 'content')]).arguments).toEqual({ filePath: '/w/hello.txt', content: 'hello from mock\n' });
    expect(plan([fn('write_file', 'file_path', 'content')]).arguments).toEqual({ file_path: '/w/hello.txt', content: 'hello from mock\n' });
    // kage's API worker takes paths relative to its working directory.
    expect(plan([fn('read_file', 'path'), fn('write_file', 'path', 'content')]).arguments).toEqual({ path: 'hello.txt', content: 'hello from mock\n' });
  });

  it('prefers Codex\'s freeform apply_patch, then exec_command, then the old shell tool', () => {
    const messages = [user('<environment_context>\n  <cwd>/w/cx</cwd>\n</environment_context>'), user('go')];
    const patch = call(planReply(request(messages, [fn('exec_command', 'cmd'), { name: 'apply_patch', kind: 'custom', parameters: [] }]), WRITE));
    expect(patch).toEqual({ kind: 'custom', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: hello.txt\n+hello from mock\n*** End Patch\n' });
    const exec = call(planReply(request(messages, [fn('exec_command', 'cmd', 'workdir')]), WRITE));
    expect(exec.arguments).toEqual({ cmd: "cat > '/w/cx/hello.txt' <<'MOCK_EOF'\nhello from mock\nMOCK_EOF" });
    const shell = call(planReply(request(messages, [fn('shell', 'command')]), WRITE));
    expect(shell.arguments?.command).toEqual(['bash', '-lc', "cat > '/w/cx/hello.txt' <<'MOCK_EOF'\nhello from mock\nMOCK_EOF"]);
  });

  it('passes the bare file name when no working directory is stated', () => {
    expect(call(planReply(request([user('go')], [fn('Write', 'file_path', 'content')]), WRITE)).arguments?.file_path).toBe('hello.txt');
  });

  it('answers the final text once a tool result follows the prompt, with final-turn usage', () => {
    const plan = planReply(request([user('go'), { role: 'assistant', texts: [], toolResults: [] }, toolResult()], [fn('Write', 'file_path', 'content')]), WRITE);
    expect(plan).toMatchObject({ kind: 'answer', answer: { kind: 'text', text: 'Done. I created hello.txt.', usage: MOCK_USAGE.finalTurn } });
  });

  it('counts reminder text beside a tool result as part of the result, and a later prompt as a new task', () => {
    const tools = [fn('Write', 'file_path', 'content')];
    const withReminder: NeutralMessage = { role: 'user', texts: ['<system-reminder>x</system-reminder>'], toolResults: ['ok'] };
    expect(planReply(request([user('go'), withReminder], tools), WRITE)).toMatchObject({ answer: { kind: 'text' } });
    const resumed = planReply(request([user('go'), toolResult(), user('[[mock:write file=b.txt]] again')], tools), WRITE);
    expect(call(resumed).arguments?.file_path).toBe('b.txt');
  });

  it('answers text when no write tool is offered', () => {
    expect(planReply(request([user('go')], [fn('Read', 'file_path')]), WRITE)).toMatchObject({ answer: { kind: 'text', text: 'Hello from mock.' } });
  });
});

describe('planReply scenarios', () => {
  it('takes the scenario from the last user marker, not from system prompts', () => {
    const plan = planReply(request([system('[[mock:error500]]'), user('[[mock:hang]]'), user('[[mock:text]]')]), WRITE);
    expect(plan).toMatchObject({ kind: 'answer', scenario: 'text', answer: { text: 'Hello from mock.', usage: MOCK_USAGE.finalTurn } });
  });

  it('reports an unknown scenario as a 400 error', () => {
    expect(planReply(request([user('[[mock:dance]]')]), WRITE)).toMatchObject({ kind: 'error', status: 400, scenario: 'invalid' });
  });

  it('carries the delay of slow and plans hang and errors', () => {
    expect(planReply(request([user('[[mock:slow delayMs=7]]')], [fn('Write', 'file_path', 'content')]), WRITE)).toMatchObject({ kind: 'answer', delayMs: 7, answer: { kind: 'tool' } });
    expect(planReply(request([user('[[mock:hang]]')]), WRITE)).toEqual({ kind: 'hang', scenario: 'hang' });
    expect(planReply(request([user('[[mock:error503]]')]), WRITE)).toEqual({ kind: 'error', scenario: 'error503', status: 503, message: 'mock 503 error', headers: {} });
  });

  it('loops with a harmless tool whose arguments change every turn', () => {
    const tools = [fn('Write', 'file_path', 'content'), fn('Bash', 'command')];
    const first = call(planReply(request([user('[[mock:loop]]')], tools), WRITE));
    const second = call(planReply(request([user('[[mock:loop]]'), toolResult()], tools), WRITE));
    expect(first.name).toBe('Bash');
    expect(second.name).toBe('Bash');
    expect(second.arguments).not.toEqual(first.arguments);
    expect(call(planReply(request([user('[[mock:loop]]')], [fn('glob', 'pattern'), fn('write', 'filePath', 'content')]), WRITE)).name).toBe('glob');
    expect(call(planReply(request([user('[[mock:loop]]')], [fn('Write', 'file_path', 'content')]), WRITE)).name).toBe('Write');
  });

  it('ends a loop with final text after `turns` tool turns', () => {
    const tools = [fn('Write', 'file_path', 'content'), fn('Bash', 'command')];
    const marker = user('[[mock:loop turns=2]]');
    expect(planReply(request([marker], tools), WRITE)).toMatchObject({ answer: { kind: 'tool' } });
    expect(planReply(request([marker, toolResult()], tools), WRITE)).toMatchObject({ answer: { kind: 'tool' } });
    expect(planReply(request([marker, toolResult(), toolResult()], tools), WRITE))
      .toMatchObject({ answer: { kind: 'text', text: 'Done after 2 tool turn(s).', usage: MOCK_USAGE.finalTurn } });
  });

  it('writes the file first in a loop given one, then loops on the harmless tool', () => {
    const tools = [fn('Write', 'file_path', 'content'), fn('Bash', 'command')];
    const first = call(planReply(request([user('[[mock:loop file=progress.txt]]')], tools), WRITE));
    expect(first).toMatchObject({ name: 'Write', arguments: { file_path: 'progress.txt', content: 'hello from mock\n' } });
    expect(call(planReply(request([user('[[mock:loop file=progress.txt]]'), toolResult()], tools), WRITE)).name).toBe('Bash');
  });

  it('answers side calls with side-call usage: a title without tools, JSON for a response schema', () => {
    const title = planReply(request([system('You are a title generator. You output ONLY a thread title.'), user('hi')]), WRITE);
    expect(title).toMatchObject({ answer: { kind: 'text', usage: MOCK_USAGE.sideCall } });
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const json = planReply(request([user('route me')], [], { responseSchema: schema }), WRITE);
    expect(json).toMatchObject({ answer: { kind: 'text', text: '{"ok":false}', usage: MOCK_USAGE.sideCall } });
  });
});

describe('write tool helpers', () => {
  it('writes content without a final newline through printf, and quotes single quotes', () => {
    expect(writeScript("/w/it's.txt", 'no newline')).toBe(`printf '%s' 'no newline' > '/w/it'\\''s.txt'`);
  });

  it('makes the parent directory first when the file is in a subdirectory', () => {
    expect(writeScript('/w/sub/a.txt', 'x\n', true)).toBe("mkdir -p '/w/sub' && cat > '/w/sub/a.txt' <<'MOCK_EOF'\nx\nMOCK_EOF");
  });

  it('builds an apply_patch with every content line prefixed', () => {
    expect(addFilePatch('a.txt', 'one\ntwo\n')).toBe('*** Begin Patch\n*** Add File: a.txt\n+one\n+two\n*** End Patch\n');
  });
});
