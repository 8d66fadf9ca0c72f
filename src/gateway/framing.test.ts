import { describe, expect, it } from 'vitest';
import { createJsonSplitter, createSseSplitter, type SseMessage } from './framing.js';

/** Every way of cutting `text` in two, plus one character at a time. */
function cuts(text: string): string[][] {
  const ways = [[text], [...text]];
  for (let i = 1; i < text.length; i++) ways.push([text.slice(0, i), text.slice(i)]);
  return ways;
}

function sse(pieces: string[], max = 1000): SseMessage[] {
  const out: SseMessage[] = [];
  const splitter = createSseSplitter((m) => out.push(m), max);
  for (const piece of pieces) splitter.push(piece);
  splitter.end();
  return out;
}

function json(pieces: string[], max = 1000): unknown[] {
  const out: unknown[] = [];
  const splitter = createJsonSplitter((text) => out.push(JSON.parse(text)), max);
  for (const piece of pieces) splitter.push(piece);
  splitter.end();
  return out;
}

describe('the SSE splitter', () => {
  it('yields named and unnamed events however the stream is cut, CRLF split across chunks included', () => {
    const text = 'event: message_start\r\ndata: {"a":1}\r\n\r\n: keep-alive\r\n\r\ndata: {"b":2}\n\ndata:[DONE]\r\r';
    for (const pieces of cuts(text)) {
      expect(sse(pieces)).toEqual([
        { event: 'message_start', data: '{"a":1}' },
        { event: null, data: '{"b":2}' },
        { event: null, data: '[DONE]' },
      ]);
    }
  });

  it('joins multi-line data with newlines and forgets the event name after each dispatch', () => {
    expect(sse(['event: x\ndata: one\ndata:  two\n\ndata: three\n\n'])).toEqual([
      { event: 'x', data: 'one\n two' },
      { event: null, data: 'three' },
    ]);
  });

  it('drops an event larger than the limit and keeps reading the ones after it', () => {
    expect(sse([`data: ${'x'.repeat(50)}\n\n`, 'data: small\n\n'], 20)).toEqual([{ event: null, data: 'small' }]);
  });

  it('drops an event cut off by the end of the body', () => {
    expect(sse(['data: {"a":1}\n\ndata: {"b":'])).toEqual([{ event: null, data: '{"a":1}' }]);
  });
});

describe('the JSON splitter', () => {
  it('yields one JSON body whole, with braces and escaped quotes inside strings', () => {
    const text = '{"text":"a } { [ \\" ]","n":[1,{"x":2}]}';
    for (const pieces of cuts(text)) expect(json(pieces)).toEqual([{ text: 'a } { [ " ]', n: [1, { x: 2 }] }]);
  });

  it('yields each element of a streamed JSON array, as Gemini sends without alt=sse', () => {
    const text = '[{"candidates":[{"index":0}]}\n,\r\n{"usageMetadata":{"promptTokenCount":8}}\n]';
    for (const pieces of cuts(text)) expect(json(pieces)).toEqual([{ candidates: [{ index: 0 }] }, { usageMetadata: { promptTokenCount: 8 } }]);
  });

  it('yields each line of NDJSON', () => {
    expect(json(['{"done":false}\n{"done"', ':true,"eval_count":3}\n'])).toEqual([{ done: false }, { done: true, eval_count: 3 }]);
  });

  it('skips a value larger than the limit and keeps the ones after it', () => {
    expect(json([`{"big":"${'x'.repeat(50)}"}`, '{"small":1}'], 30)).toEqual([{ small: 1 }]);
  });
});
