// A minimal client for the mock model server, for tests: POST a JSON body and read the answer back as
// JSON, SSE events or NDJSON lines.

export interface SseEvent {
  /** The `event:` name; null for unnamed events. */
  event: string | null;
  /** The `data:` text (`[DONE]` is kept as text). */
  data: string;
}

export interface MockResponse {
  status: number;
  headers: Headers;
  text: string;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<MockResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The events of an SSE body, in order. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | null = null;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { event, data: data.join('\n') };
    });
}

/** The JSON `data` of each SSE event, `[DONE]` left out. */
export function sseJson(text: string): any[] {
  return parseSse(text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
}

/** The JSON objects of an NDJSON body. */
export function ndjson(text: string): any[] {
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}
