import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, sseJson } from './mock-client.js';
import { startMockModelServer, type MockModelServer } from './server.js';
import { MOCK_USAGE } from './usage.js';

let server: MockModelServer;
beforeAll(async () => {
  server = await startMockModelServer();
});
afterAll(() => server.close());

const SESSION_CONTEXT = '<session_context>\nThis is the Gemini CLI.\n- **Workspace Directories:**\n  - /work/gem\n- **Directory Structure:**\n</session_context>';
const TOOLS = [{
  functionDeclarations: [
    { name: 'list_directory', parametersJsonSchema: { type: 'object', properties: { dir_path: { type: 'string' } } } },
    { name: 'write_file', parametersJsonSchema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } } } },
  ],
}];

/** Shaped like Gemini CLI 0.61's turn. */
function geminiTurn(extra: unknown[] = []): Record<string, unknown> {
  return {
    contents: [
      { role: 'user', parts: [{ text: SESSION_CONTEXT }, { text: 'create hello.txt' }] },
      ...extra,
    ],
    systemInstruction: { role: 'user', parts: [{ text: 'You are Gemini CLI.' }] },
    tools: TOOLS,
    generationConfig: { temperature: 1 },
  };
}

const TOOL_EXCHANGE = [
  { role: 'model', parts: [{ functionCall: { id: 'w1', name: 'write_file', args: {} } }] },
  { role: 'user', parts: [{ functionResponse: { id: 'w1', name: 'write_file', response: { output: 'Successfully created' } } }] },
];

const STREAM = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse';

describe('Gemini generateContent', () => {
  it('streams a write_file call to the first workspace directory with usageMetadata', async () => {
    const res = await postJson(`${server.url}${STREAM}`, geminiTurn(), { 'x-goog-api-key': 'secret' });
    expect(res.status).toBe(200);
    const chunks = sseJson(res.text);
    expect(chunks).toHaveLength(1);
    const [candidate] = chunks[0].candidates;
    expect(candidate).toMatchObject({ finishReason: 'STOP', index: 0, content: { role: 'model' } });
    expect(candidate.content.parts).toEqual([{ functionCall: { name: 'write_file', args: { file_path: '/work/gem/hello.txt', content: 'hello from mock\n' } } }]);
    expect(chunks[0].usageMetadata).toEqual({ promptTokenCount: 1111, candidatesTokenCount: 22, totalTokenCount: 1133, cachedContentTokenCount: 7 });
    expect(chunks[0].modelVersion).toBe('gemini-2.5-flash');
  });

  it('streams the final text after a functionResponse, usage on the last chunk only', async () => {
    const chunks = sseJson((await postJson(`${server.url}${STREAM}`, geminiTurn(TOOL_EXCHANGE))).text);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.candidates[0].content.parts[0].text).join('')).toBe('Done. I created hello.txt.');
    expect(chunks.slice(0, -1).some((c) => 'usageMetadata' in c || 'finishReason' in c.candidates[0])).toBe(false);
    expect(chunks.at(-1).usageMetadata).toMatchObject({ promptTokenCount: 3333, candidatesTokenCount: 44, totalTokenCount: 3377 });
  });

  it('answers generateContent without streaming', async () => {
    const body = JSON.parse((await postJson(`${server.url}/v1beta/models/gemini-2.5-flash:generateContent`, geminiTurn(TOOL_EXCHANGE))).text);
    expect(body.candidates[0].content.parts).toEqual([{ text: 'Done. I created hello.txt.' }]);
    expect(body.usageMetadata.promptTokenCount).toBe(MOCK_USAGE.finalTurn.inputTokens);
  });

  it('streams a JSON array when alt=sse is absent', async () => {
    const res = await postJson(`${server.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, geminiTurn());
    const chunks = JSON.parse(res.text);
    expect(Array.isArray(chunks)).toBe(true);
    expect(chunks[0].candidates[0].content.parts[0].functionCall.name).toBe('write_file');
  });

  it('answers the model router side call with JSON its check accepts, and side-call usage', async () => {
    const body = JSON.parse((await postJson(`${server.url}/v1beta/models/gemini-3.5-flash-lite:generateContent`, {
      contents: [{ role: 'user', parts: [{ text: 'create hello.txt' }] }],
      systemInstruction: { role: 'user', parts: [{ text: 'You are a specialized Task Routing AI.' }] },
      generationConfig: {
        responseMimeType: 'application/json',
        responseJsonSchema: {
          type: 'OBJECT',
          properties: { complexity_reasoning: { type: 'STRING' }, complexity_score: { type: 'INTEGER' } },
          required: ['complexity_reasoning', 'complexity_score'],
        },
      },
    })).text);
    const answer = JSON.parse(body.candidates[0].content.parts[0].text);
    expect(answer.complexity_score).toBeGreaterThanOrEqual(1);
    expect(answer.complexity_score).toBeLessThanOrEqual(100);
    expect(typeof answer.complexity_reasoning).toBe('string');
    expect(body.usageMetadata).toMatchObject({ promptTokenCount: 5, candidatesTokenCount: 6, cachedContentTokenCount: 0 });
  });

  it('answers a JSON-mode call without a schema with a JSON object', async () => {
    const body = JSON.parse((await postJson(`${server.url}/v1beta/models/m:generateContent`, {
      contents: [{ role: 'user', parts: [{ text: 'x' }] }],
      generationConfig: { responseMimeType: 'application/json' },
    })).text);
    expect(JSON.parse(body.candidates[0].content.parts[0].text)).toEqual({});
  });
});
