// Finds `[[mock:NAME]]` / `[[mock:NAME key=value ...]]` markers in conversation text. Values may be
// percent-encoded (`content=hello%20world%0A`) so they can hold spaces, newlines and brackets.

export interface Marker {
  name: string;
  options: Record<string, string>;
}

const MARKER = /\[\[mock:([A-Za-z][\w-]*)((?:\s+[A-Za-z_][\w-]*=[^\s\]]*)*)\s*\]\]/g;
const OPTION = /([A-Za-z_][\w-]*)=([^\s\]]*)/g;

/** The last marker in `texts` (read in order), or null when there is none. */
export function lastMarker(texts: readonly string[]): Marker | null {
  let last: Marker | null = null;
  for (const text of texts) {
    for (const match of text.matchAll(MARKER)) {
      const options: Record<string, string> = {};
      for (const option of (match[2] ?? '').matchAll(OPTION)) options[option[1]!] = decode(option[2]!);
      last = { name: match[1]!, options };
    }
  }
  return last;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A lone `%` is kept as written rather than failing the request.
    return value;
  }
}
