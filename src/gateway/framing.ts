// Splits a response body into the messages a usage reader looks at, as the bytes arrive: server-sent events
// (Anthropic, OpenAI, Gemini with alt=sse) and JSON values (one JSON body, NDJSON lines from Ollama, and the
// elements of the JSON array Gemini streams without alt=sse). Nothing here holds more than one message.

export interface SseMessage {
  /** The `event:` field; null when the event has none (Chat Completions, Gemini). */
  event: string | null;
  data: string;
}

export interface Splitter {
  push(text: string): void;
  /** The body is over: a message still open is dropped (it was cut off). */
  end(): void;
}

/** Server-sent events per the HTML spec's parsing rules: `data:` lines joined by newlines, a blank line dispatches. */
export function createSseSplitter(onMessage: (message: SseMessage) => void, maxMessageChars: number): Splitter {
  /** The unfinished last line, in pieces (joining a growing string per chunk would copy it every time). */
  let partial: string[] = [];
  let partialSize = 0;
  /** The previous chunk ended with CR: an LF starting this one belongs to it. */
  let skipLf = false;
  let event: string | null = null;
  let data: string[] = [];
  let size = 0;
  let oversized = false;

  const dispatch = (): void => {
    if (data.length > 0 && !oversized) onMessage({ event, data: data.join('\n') });
    event = null;
    data = [];
    size = 0;
    oversized = false;
  };

  const line = (text: string): void => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      size += value.length;
      if (size > maxMessageChars) oversized = true;
      else data.push(value);
    }
  };

  const endLine = (tail: string): void => {
    const tooLong = partialSize + tail.length > maxMessageChars;
    const whole = partial.length === 0 ? tail : partial.join('') + tail;
    partial = [];
    partialSize = 0;
    if (tooLong) oversized = true;
    else line(whole);
  };

  return {
    push(text) {
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (skipLf) {
          skipLf = false;
          if (c === 10) {
            start = i + 1;
            continue;
          }
        }
        if (c !== 10 && c !== 13) continue;
        endLine(text.slice(start, i));
        if (c === 13) {
          if (i + 1 === text.length) skipLf = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
      if (start < text.length) {
        const piece = text.slice(start);
        partialSize += piece.length;
        // An endless line is counted but not kept.
        if (partialSize <= maxMessageChars) partial.push(piece);
        else partial = [];
      }
    },
    end() {
      partial = [];
      partialSize = 0;
      data = [];
    },
  };
}

/**
 * Each complete top-level JSON object or array in the text, or, when the body is one JSON array, each of its
 * elements. Scalars at the top level are skipped. Strings are tracked so braces inside them do not count.
 */
export function createJsonSplitter(onValue: (text: string) => void, maxValueChars: number): Splitter {
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The body is one array whose elements are the values. */
  let outerArray = false;
  /** Depth at which the value being captured started; null when not capturing. */
  let captureDepth: number | null = null;
  let pieces: string[] = [];
  let size = 0;
  let oversized = false;

  return {
    push(text) {
      let start = captureDepth === null ? -1 : 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true; // backslash
          else if (c === 34) inString = false; // quote
          continue;
        }
        if (c === 34) {
          inString = true;
        } else if (c === 123 || c === 91) { // { [
          if (depth === 0 && c === 91 && captureDepth === null) {
            outerArray = true;
          } else if (captureDepth === null && depth === (outerArray ? 1 : 0)) {
            captureDepth = depth;
            start = i;
          }
          depth++;
        } else if (c === 125 || c === 93) { // } ]
          depth = Math.max(0, depth - 1);
          if (captureDepth !== null && depth === captureDepth) {
            const piece = text.slice(start, i + 1);
            if (!oversized && size + piece.length <= maxValueChars) onValue(pieces.join('') + piece);
            captureDepth = null;
            pieces = [];
            size = 0;
            oversized = false;
            start = -1;
          } else if (depth === 0 && outerArray) {
            outerArray = false;
          }
        }
      }
      if (captureDepth !== null && start !== -1) {
        const piece = text.slice(start);
        size += piece.length;
        if (size > maxValueChars) {
          oversized = true;
          pieces = [];
        } else if (!oversized) {
          pieces.push(piece);
        }
      }
    },
    end() {
      pieces = [];
      captureDepth = null;
    },
  };
}
