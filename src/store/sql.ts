// Loads the named SQL statements kept in the package's sql/ folder (one statement per file).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, string>();

/** Resolves a folder at the package root from both src/ (tests) and dist/ (built). */
export function packagePath(...parts: string[]): string {
  return fileURLToPath(new URL(`../../${parts.join('/')}`, import.meta.url));
}

export function sql(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(packagePath('sql', `${name}.sql`), 'utf8');
    cache.set(name, text);
  }
  return text;
}
