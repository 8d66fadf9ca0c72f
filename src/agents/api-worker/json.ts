// Reading the APIs' JSON defensively, shared by the providers: a server that sends a wrong type gets a zero,
// an empty object or a clear error, never a crash of the worker.
export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object `text` holds, or null when it is not a JSON object. */
export function parseObject(text: string): Json | null {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** A token count: a non-negative integer, 0 for anything else. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * Tool-call arguments: an object, or a JSON string holding one (OpenAI streams them as text; some models
 * put text where Ollama expects an object). Anything else becomes `{}`, and the tool tells the model which
 * argument is missing.
 */
export function argumentsOf(value: unknown): Json {
  if (isObject(value)) return value;
  if (typeof value === 'string') return (value.trim() === '' ? null : parseObject(value)) ?? {};
  return {};
}
