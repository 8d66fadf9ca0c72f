// The usage meter on answers as the providers send them (shapes from their API references), cut into
// chunks at every byte, multi-byte characters included.
import { describe, expect, it } from 'vitest';
import type { GatewayProvider } from '../domain/index.js';
import { createUsageMeter, framingOf } from './meter.js';

function metered(provider: GatewayProvider, contentType: string, body: string) {
  const bytes = Buffer.from(body, 'utf8');
  const results = [];
  for (const size of [bytes.length, 1, 2, 3, 7, 64]) {
    const meter = createUsageMeter(provider, contentType);
    for (let i = 0; i < bytes.length; i += size) meter.push(bytes.subarray(i, i + size));
    results.push(meter.end());
  }
  // Every way of cutting it reads the same.
  for (const r of results) expect(r).toEqual(results[0]);
  return results[0]!;
}

const SSE = 'text/event-stream; charset=utf-8';

describe('Anthropic Messages', () => {
  it('reads input and cache counts from message_start and the final output from message_delta', () => {
    const body = [
      'event: message_start',
      'data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":2048,"cache_read_input_tokens":10240,"output_tokens":2}}}',
      '',
      'event: content_block_start',
      'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
      '',
      'event: ping',
      'data: {"type": "ping"}',
      '',
      'event: content_block_delta',
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour à tous {\\"not\\": \\"usage\\"}"}}',
      '',
      'event: content_block_stop',
      'data: {"type":"content_block_stop","index":0}',
      '',
      'event: message_delta',
      'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}',
      '',
      'event: message_stop',
      'data: {"type":"message_stop"}',
      '',
      '',
    ].join('\n');
    expect(metered('anthropic', SSE, body)).toEqual({
      found: true, model: 'claude-sonnet-4-5-20250929', error: null,
      inputTokens: 472, outputTokens: 15, cacheReadTokens: 10240, cacheWriteTokens: 2048,
    });
  });

  it('reads a non-streamed message', () => {
    const body = '{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[{"type":"text","text":"Hello!"}],"model":"claude-opus-4-1-20250805","stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6,"service_tier":"standard"}}';
    expect(metered('anthropic', 'application/json', body)).toMatchObject({ found: true, model: 'claude-opus-4-1-20250805', inputTokens: 12, outputTokens: 6 });
  });

  it('keeps what message_start reported and the error when the stream fails midway', () => {
    const body = 'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":30,"output_tokens":1}}}\n\n'
      + 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n';
    expect(metered('anthropic', SSE, body)).toMatchObject({ found: true, inputTokens: 30, outputTokens: 1, error: 'Overloaded' });
  });
});

describe('OpenAI', () => {
  it('reads the usage chunk of a Chat Completions stream, taking the cached part out of the input', () => {
    const chunk = (choices: string, usage: string): string =>
      `data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":${choices},"usage":${usage}}\n\n`;
    const body = chunk('[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]', 'null')
      + chunk('[{"index":0,"delta":{"content":"Héllo"},"logprobs":null,"finish_reason":null}]', 'null')
      + chunk('[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]', 'null')
      + chunk('[]', '{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}')
      + 'data: [DONE]\n\n';
    expect(metered('openai', SSE, body)).toEqual({
      found: true, model: 'gpt-4o-mini-2024-07-18', error: null, inputTokens: 86, outputTokens: 300, cacheReadTokens: 1920, cacheWriteTokens: 0,
    });
  });

  it('finds no usage in a Chat Completions stream sent without include_usage', () => {
    const body = 'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"x"}}]}\n\ndata: [DONE]\n\n';
    expect(metered('openai', SSE, body)).toMatchObject({ found: false, inputTokens: 0, outputTokens: 0 });
  });

  it('reads response.completed of a Responses stream', () => {
    const body = [
      'event: response.created',
      'data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}',
      '',
      'event: response.output_text.delta',
      'data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":"Hi"}',
      '',
      'event: response.completed',
      'data: {"type":"response.completed","sequence_number":8,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,"status":"completed","model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_67c9","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":32},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":48}}}',
      '',
      '',
    ].join('\n');
    expect(metered('openai', SSE, body)).toEqual({
      found: true, model: 'gpt-4.1-2025-04-14', error: null, inputTokens: 5, outputTokens: 11, cacheReadTokens: 32, cacheWriteTokens: 0,
    });
  });

  it('reads a non-streamed response object and a non-streamed chat completion', () => {
    expect(metered('openai', 'application/json', '{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[],"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":0},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":120}}'))
      .toMatchObject({ found: true, model: 'gpt-5-2025-08-07', inputTokens: 100, outputTokens: 20 });
    expect(metered('openai', 'application/json', '{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}'))
      .toMatchObject({ found: true, model: 'gpt-4o', inputTokens: 9, outputTokens: 12, cacheReadTokens: 0 });
  });

  it('reads the message of an error body', () => {
    expect(metered('openai', 'application/json', '{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}'))
      .toMatchObject({ found: false, error: 'Rate limit reached for gpt-4o' });
  });
});

describe('Gemini', () => {
  const first = '{"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 8}]},"modelVersion": "gemini-2.5-flash","responseId": "mBlnaL2iJ_Kn1dkP8uPywAs"}';
  const last = '{"candidates": [{"content": {"parts": [{"text": " sky is blue—"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 12,"totalTokenCount": 1050,"cachedContentTokenCount": 4,"thoughtsTokenCount": 1030},"modelVersion": "gemini-2.5-flash","responseId": "mBlnaL2iJ_Kn1dkP8uPywAs"}';
  const expected = { found: true, model: 'gemini-2.5-flash', error: null, inputTokens: 4, outputTokens: 1042, cacheReadTokens: 4, cacheWriteTokens: 0 };

  it('takes the last usageMetadata of an SSE stream, thinking counted as output', () => {
    expect(metered('gemini', SSE, `data: ${first}\r\n\r\ndata: ${last}\r\n\r\n`)).toEqual(expected);
  });

  it('reads the same from the JSON array streamGenerateContent sends without alt=sse', () => {
    expect(metered('gemini', 'application/json; charset=UTF-8', `[${first}\n,\r\n${last}\n]`)).toEqual(expected);
  });

  it('reads a generateContent body', () => {
    expect(metered('gemini', 'application/json', last)).toEqual(expected);
  });
});

describe('Ollama', () => {
  it('reads the counts of the final done chunk of an NDJSON stream', () => {
    const body = '{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}\n'
      + '{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}\n';
    expect(metered('ollama', 'application/x-ndjson', body)).toEqual({
      found: true, model: 'llama3.2', error: null, inputTokens: 26, outputTokens: 282, cacheReadTokens: 0, cacheWriteTokens: 0,
    });
  });

  it('reads an error line', () => {
    expect(metered('ollama', 'application/json; charset=utf-8', '{"error":"model \\"nope\\" not found, try pulling it first"}'))
      .toMatchObject({ found: false, error: 'model "nope" not found, try pulling it first' });
  });
});

describe('framing by content type', () => {
  it('reads SSE, JSON and NDJSON, and nothing from HTML or plain text', () => {
    expect([SSE, 'application/json', 'application/problem+json', 'application/x-ndjson', 'text/html', 'text/plain', undefined].map(framingOf))
      .toEqual(['sse', 'json', 'json', 'ndjson', null, null, null]);
    expect(metered('openai', 'text/html', '<html>{"usage":{"prompt_tokens":5}}</html>')).toMatchObject({ found: false });
  });
});
