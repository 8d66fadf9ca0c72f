// Puts a replaying clone's own paths (worktree, HOME) in place of the recorded run's in a recorded answer,
// so that a tool call with an absolute path (Claude Code's Write takes one) lands in the new worktree.
//
// Streamed answers send tool arguments in fragments (Anthropic `partial_json`, OpenAI `arguments` and
// Responses `delta` strings), and a path may be cut anywhere between two of them. The rewrite therefore looks
// at the JSON string values of the body, not only its bytes: a path that starts at the end of one value and
// goes on at the start of the next values of the same key is rewritten across them (the new path in the
// first fragment, the rest of the old one taken out of the later ones), so the fragments still add up to
// valid arguments. Works on bytes (latin1 strings), so offsets stay byte offsets and chunk boundaries can be
// carried over to the rewritten body.

export interface PathSwap {
  from: string;
  to: string;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

interface Span {
  start: number;
  end: number;
  key: string | null;
}

/** How many values of the same key a path may be spread over, and how many other values may come between. */
const MAX_FRAGMENTS = 64;
const MAX_OTHER_VALUES = 64;

const latin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const escapeJson = (text: string): string => JSON.stringify(text).slice(1, -1);

/** The path as it appears raw, inside a JSON string, and inside a JSON string inside a JSON string (`partial_json`). */
function forms(swap: PathSwap): PathSwap[] {
  const out: PathSwap[] = [];
  let from = swap.from;
  let to = swap.to;
  for (let depth = 0; depth < 3; depth++) {
    if (!out.some((f) => f.from === latin1(from))) out.push({ from: latin1(from), to: latin1(to) });
    from = escapeJson(from);
    to = escapeJson(to);
  }
  return out;
}

/** The JSON string values in `text` (object keys left out), each with the key it belongs to. */
function stringValues(text: string): Span[] {
  const spans: Span[] = [];
  let key: string | null = null;
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    const start = i + 1;
    let j = start;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) break;
    let k = j + 1;
    while (k < text.length && ' \t\r\n'.includes(text[k]!)) k++;
    if (text[k] === ':') key = text.slice(start, j);
    else spans.push({ start, end: j, key });
    i = j + 1;
  }
  return spans;
}

/** Edits for a path cut across values: `first` ends with its beginning, later values of the same key hold the rest. */
function splitMatch(text: string, spans: readonly Span[], first: number, form: PathSwap): Edit[] | null {
  const span = spans[first]!;
  const head = form.from[0];
  // Longest beginning first: positions in the value's tail where the path could start.
  for (let at = Math.max(span.start, span.end - form.from.length + 1); at < span.end; at++) {
    const k = span.end - at;
    if (text[at] !== head || text.slice(at, span.end) !== form.from.slice(0, k)) continue;
    const edits: Edit[] = [{ start: at, end: span.end, text: form.to }];
    let rest = form.from.slice(k);
    let others = 0;
    for (let next = first + 1; next < spans.length && rest !== '' && edits.length <= MAX_FRAGMENTS; next++) {
      const s = spans[next]!;
      if (s.key !== span.key) {
        if (++others > MAX_OTHER_VALUES) break;
        continue;
      }
      const value = text.slice(s.start, s.end);
      if (value === '') continue;
      if (value.length <= rest.length && rest.startsWith(value)) {
        edits.push({ start: s.start, end: s.end, text: '' });
        rest = rest.slice(value.length);
      } else if (value.startsWith(rest)) {
        edits.push({ start: s.start, end: s.start + rest.length, text: '' });
        rest = '';
      } else {
        break;
      }
    }
    if (rest === '') return edits;
  }
  return null;
}

function findEdits(text: string, swaps: readonly PathSwap[]): Edit[] {
  const all = swaps.filter((s) => s.from !== '' && s.from !== s.to).flatMap(forms);
  const edits: Edit[] = [];
  for (const form of all) {
    for (let at = text.indexOf(form.from); at !== -1; at = text.indexOf(form.from, at + form.from.length)) {
      edits.push({ start: at, end: at + form.from.length, text: form.to });
    }
  }
  const spans = stringValues(text);
  for (let i = 0; i < spans.length; i++) {
    for (const form of all) {
      const found = splitMatch(text, spans, i, form);
      if (found !== null) edits.push(...found);
    }
  }
  edits.sort((a, b) => a.start - b.start || b.end - a.end);
  // Overlaps can only come from paths nested in one another; the first (outermost) edit wins.
  let reached = 0;
  return edits.filter((e) => {
    if (e.start < reached) return false;
    reached = Math.max(reached, e.end);
    return true;
  });
}

/**
 * The body with every swap applied, and its chunk sizes with the recorded boundaries kept: each boundary
 * moves with the text before it (one inside a replaced path moves to that path's end).
 */
export function rewriteAnswer(body: Buffer, chunkSizes: readonly number[], swaps: readonly PathSwap[]): { body: Buffer; chunkSizes: number[] } {
  const text = body.toString('latin1');
  const edits = findEdits(text, swaps);
  if (edits.length === 0) return { body, chunkSizes: [...chunkSizes] };
  let out = '';
  let from = 0;
  for (const e of edits) {
    out += text.slice(from, e.start) + e.text;
    from = e.end;
  }
  out += text.slice(from);
  const moved = (offset: number): number => {
    let delta = 0;
    for (const e of edits) {
      if (e.end <= offset) delta += e.text.length - (e.end - e.start);
      else if (e.start < offset) return e.start + delta + e.text.length;
      else break;
    }
    return offset + delta;
  };
  const sizes: number[] = [];
  let boundary = 0;
  let previous = 0;
  for (const size of chunkSizes) {
    boundary += size;
    const next = moved(boundary);
    sizes.push(next - previous);
    previous = next;
  }
  return { body: Buffer.from(out, 'latin1'), chunkSizes: sizes };
}
