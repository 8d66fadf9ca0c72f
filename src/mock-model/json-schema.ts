// A small valid value for a JSON schema: the answer to JSON-mode side calls (Gemini CLI's model router,
// next-speaker and loop checks). Understands the subset those schemas use, including Gemini's upper-case
// `Type` names (`OBJECT`, `INTEGER`).
import { isObject } from './conversation.js';

const MAX_DEPTH = 8;

/** Gemini CLI's router validates `complexity_score` between 1 and 100 with Zod; 0 made it print a ZodError. */
const ROUTER_ANSWER = Object.freeze({ complexity_reasoning: 'Mock router: a simple single-file task.', complexity_score: 50 });

export function valueForSchema(schema: unknown, depth = 0): unknown {
  if (!isObject(schema) || depth > MAX_DEPTH) return {};
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const first = Array.isArray(schema[key]) ? schema[key][0] : undefined;
    if (first !== undefined) return valueForSchema(first, depth + 1);
  }
  switch (typeOf(schema)) {
    case 'object':
      return objectFor(schema, depth);
    case 'array': {
      const count = typeof schema.minItems === 'number' ? Math.max(0, Math.ceil(schema.minItems)) : 0;
      return Array.from({ length: count }, () => valueForSchema(schema.items, depth + 1));
    }
    case 'string':
      return stringFor(schema);
    case 'integer':
      return Math.ceil(numberFor(schema));
    case 'number':
      return numberFor(schema);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return {};
  }
}

function objectFor(schema: Record<string, unknown>, depth: number): Record<string, unknown> {
  const properties = isObject(schema.properties) ? schema.properties : {};
  if ('complexity_score' in properties && 'complexity_reasoning' in properties) return { ...ROUTER_ANSWER };
  const required = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === 'string') : [];
  const value: Record<string, unknown> = {};
  for (const key of required) value[key] = valueForSchema(properties[key], depth + 1);
  return value;
}

function typeOf(schema: Record<string, unknown>): string | null {
  const raw = Array.isArray(schema.type) ? schema.type.find((t) => String(t).toLowerCase() !== 'null') ?? schema.type[0] : schema.type;
  if (typeof raw === 'string') return raw.toLowerCase();
  if (isObject(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return null;
}

function stringFor(schema: Record<string, unknown>): string {
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const text = 'mock'.padEnd(min, 'x');
  return text.slice(0, Math.max(min, Math.min(text.length, max)));
}

/** The minimum when there is one, else 0: Gemini CLI's loop check reads `unproductive_state_confidence` 0 as "no loop". */
function numberFor(schema: Record<string, unknown>): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum
    : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1
    : 0;
  const max = typeof schema.maximum === 'number' ? schema.maximum : Number.POSITIVE_INFINITY;
  return Math.min(min, max);
}
