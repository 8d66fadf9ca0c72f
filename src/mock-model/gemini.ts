// Gemini: `POST /v1beta/models/<model>:generateContent` and `:streamGenerateContent?alt=sse` (a JSON array
// without alt=sse). Gemini CLI streams its agent turns; with the default model `auto` it first sends a
// non-streamed router call in JSON mode (`responseJsonSchema` {complexity_reasoning, complexity_score}),
// which is a side call. Tool results come back as `functionResponse` parts of a user content.
import { asArray, asString, isObject, schemaProperties, textsOf, type Json, type NeutralMessage, type ParsedRequest } from './conversation.js';
import type { Answer } from './plan.js';
import { callArguments, halves, newId, sseData, SSE_CONTENT_TYPE, type Protocol, type Rendered } from './protocol.js';
import type { MockTurnUsage } from './usage.js';

/** `/v1beta/models/<model>:<method>`; the model may contain dots and dashes, and `models/` prefixes are allowed. */
export const GEMINI_PATH = /^\/v1(?:beta|alpha)?\/models\/([^:/]+(?:\/[^:/]+)?):(generateContent|streamGenerateContent)$/;

export const geminiProtocol: Protocol = {
  name: 'gemini',
  parse,
  errorBody: (status, message) => ({ error: { code: status, message, status: 'INVALID_ARGUMENT' } }),
  render,
};

function parse(body: Json, url: URL): ParsedRequest {
  const route = GEMINI_PATH.exec(url.pathname);
  const messages: NeutralMessage[] = [];
  const system = body.systemInstruction;
  const systemTexts = typeof system === 'string' ? [system] : isObject(system) ? textsOf(system.parts) : [];
  if (systemTexts.length > 0) messages.push({ role: 'system', texts: systemTexts, toolResults: [] });
  for (const content of asArray(body.contents)) {
    if (!isObject(content)) continue;
    const texts: string[] = [];
    const toolResults: string[] = [];
    for (const part of asArray(content.parts)) {
      if (!isObject(part)) continue;
      if (typeof part.text === 'string' && part.thought !== true) texts.push(part.text);
      if (isObject(part.functionResponse)) toolResults.push(JSON.stringify(part.functionResponse.response ?? {}));
    }
    messages.push({ role: content.role === 'model' ? 'assistant' : 'user', texts, toolResults });
  }
  const tools = asArray(body.tools).flatMap((tool) =>
    (isObject(tool) ? asArray(tool.functionDeclarations) : []).flatMap((decl) => {
      const name = isObject(decl) ? asString(decl.name) : null;
      if (name === null || !isObject(decl)) return [];
      return [{ name, kind: 'function' as const, parameters: schemaProperties(decl.parametersJsonSchema ?? decl.parameters) }];
    }));
  return {
    model: route?.[1] ?? null,
    stream: route?.[2] === 'streamGenerateContent',
    streamUsage: true,
    messages,
    tools,
    responseSchema: responseSchema(body.generationConfig),
  };
}

/** The schema of a JSON-mode request (an empty schema when only the MIME type asks for JSON), else null. */
function responseSchema(config: unknown): unknown {
  if (!isObject(config)) return null;
  const schema = config.responseJsonSchema ?? config.responseSchema;
  if (schema !== undefined) return schema;
  return config.responseMimeType === 'application/json' ? {} : null;
}

function render(answer: Answer, request: ParsedRequest, url: URL): Rendered {
  const responseId = newId('');
  const chunk = (parts: Json[], last: boolean): Json => ({
    candidates: [{ content: { role: 'model', parts }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
    ...(last ? { usageMetadata: usage(answer.usage) } : {}),
    modelVersion: request.model ?? 'mock-model',
    responseId,
  });
  if (!request.stream) {
    const parts = answer.kind === 'tool' ? [{ functionCall: { name: answer.call.name, args: callArguments(answer) } }] : [{ text: answer.text }];
    return { kind: 'json', body: chunk(parts, true) };
  }
  // Usage only on the last chunk, so a client that adds up every chunk's usage still gets the right sum.
  const chunks = answer.kind === 'tool'
    ? [chunk([{ functionCall: { name: answer.call.name, args: callArguments(answer) } }], true)]
    : halves(answer.text).map((text, i, all) => chunk([{ text }], i === all.length - 1));
  if (url.searchParams.get('alt') === 'sse') return { kind: 'stream', contentType: SSE_CONTENT_TYPE, chunks: chunks.map(sseData) };
  return { kind: 'stream', contentType: 'application/json; charset=utf-8', chunks: chunks.map((c, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(c)}`).concat(']') };
}

function usage(counts: MockTurnUsage): Json {
  return {
    promptTokenCount: counts.inputTokens,
    candidatesTokenCount: counts.outputTokens,
    totalTokenCount: counts.inputTokens + counts.outputTokens,
    cachedContentTokenCount: counts.cacheReadTokens,
  };
}
