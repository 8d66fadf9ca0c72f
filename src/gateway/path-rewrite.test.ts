import { describe, expect, it } from 'vitest';
import { rewriteAnswer } from './path-rewrite.js';

const OLD = '/tmp/kage-home-a/worktrees/repo-1/0123abcd/claude-code';
const NEW = '/tmp/kage-home-a/worktrees/repo-1/89efcdab/claude-code';

/** An Anthropic tool-use stream whose `partial_json` fragments are the given pieces, one SSE event each. */
function toolStream(pieces: string[]): string {
  const events = pieces.map((partial) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0,
    delta: { type: 'input_json_delta', partial_json: partial } })}\n\n`);
  return `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":"Write","input":{}}}\n\n${events.join('')}` +
    'event: message_stop\ndata: {"type":"message_stop"}\n\n';
}

/** The tool arguments a client rebuilds from the stream's fragments. */
function argumentsOf(stream: string): unknown {
  const fragments = stream.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)))
    .filter((e) => e.type === 'content_block_delta').map((e) => e.delta.partial_json as string);
  return JSON.parse(fragments.join(''));
}

function sizesOf(text: string, cuts: number[]): number[] {
  const bounds = [0, ...cuts, Buffer.byteLength(text)];
  return bounds.slice(1).map((b, i) => b - bounds[i]!);
}

describe('rewriting recorded answers for a replay', () => {
  it('replaces the recorded worktree in a JSON answer and keeps the chunk boundaries around it', () => {
    const body = JSON.stringify({ content: [{ type: 'tool_use', input: { file_path: `${OLD}/hello.txt`, content: 'hi' } }] });
    const cut = body.indexOf('hello.txt');
    const out = rewriteAnswer(Buffer.from(body), sizesOf(body, [10, cut]), [{ from: OLD, to: NEW }]);
    expect(JSON.parse(out.body.toString()).content[0].input.file_path).toBe(`${NEW}/hello.txt`);
    expect(out.chunkSizes).toEqual(sizesOf(out.body.toString(), [10, cut]));
    expect(out.chunkSizes.reduce((a, b) => a + b, 0)).toBe(out.body.length);
  });

  it.each([
    { name: 'cut in two', cuts: [30] },
    { name: 'cut in many small fragments', cuts: [5, 12, 19, 26, 33, 40, 47, 54, 61, 68, 75] },
    { name: 'cut right before the path', cuts: [14] },
  ])('rewrites a path spread over streamed fragments ($name), so the fragments still add up to the new arguments', ({ cuts }) => {
    const args = JSON.stringify({ file_path: `${OLD}/hello.txt`, content: 'hello from mock\n' });
    const pieces = [...cuts, args.length].map((end, i, list) => args.slice(i === 0 ? 0 : list[i - 1], end));
    const stream = toolStream(pieces);
    const out = rewriteAnswer(Buffer.from(stream), [Buffer.byteLength(stream)], [{ from: OLD, to: NEW }]);
    expect(argumentsOf(out.body.toString())).toEqual({ file_path: `${NEW}/hello.txt`, content: 'hello from mock\n' });
    expect(out.body.toString()).not.toContain('0123abcd');
    expect(out.chunkSizes).toEqual([out.body.length]);
  });

  it('moves a chunk boundary that fell inside a rewritten path to the end of the new one', () => {
    const text = `data: {"path":"${OLD}"}\n\n`;
    const inside = text.indexOf('0123abcd') + 2;
    const out = rewriteAnswer(Buffer.from(text), sizesOf(text, [inside]), [{ from: OLD, to: `${NEW}/longer` }]);
    const rewritten = out.body.toString();
    expect(rewritten).toBe(`data: {"path":"${NEW}/longer"}\n\n`);
    expect(out.chunkSizes).toEqual(sizesOf(rewritten, [rewritten.indexOf('/longer') + '/longer'.length]));
  });

  it('leaves an answer without the recorded paths byte for byte as recorded', () => {
    const body = Buffer.from('data: {"type":"text","text":"/tmp/kage-home-a/worktrees is mentioned, not the clone"}\n\n');
    const out = rewriteAnswer(body, [7, body.length - 7], [{ from: OLD, to: NEW }, { from: '/home/x', to: '/home/y' }]);
    expect(out.body.equals(body)).toBe(true);
    expect(out.chunkSizes).toEqual([7, body.length - 7]);
  });

  it('does not join the ends of unrelated values into a path', () => {
    // `.../repo-1/` ends one key's value and `0123abcd/claude-code` starts another's: not a fragmented path.
    const body = `{"a":"${OLD.slice(0, 30)}","b":"${OLD.slice(30)}"}`;
    const out = rewriteAnswer(Buffer.from(body), [body.length], [{ from: OLD, to: NEW }]);
    expect(out.body.toString()).toBe(body);
  });
});
