import { describe, expect, it } from 'vitest';
import { valueForSchema } from './json-schema.js';

describe('valueForSchema', () => {
  it('answers Gemini CLI\'s router with a score its Zod check accepts (1 to 100)', () => {
    const router = {
      type: 'OBJECT',
      properties: { complexity_reasoning: { type: 'STRING' }, complexity_score: { type: 'INTEGER' } },
      required: ['complexity_reasoning', 'complexity_score'],
    };
    const value = valueForSchema(router) as { complexity_score: number; complexity_reasoning: string };
    expect(value.complexity_score).toBe(50);
    expect(value.complexity_reasoning).not.toBe('');
  });

  it('picks the first enum value and says "no loop" to the loop check', () => {
    const nextSpeaker = { type: 'object', properties: { reasoning: { type: 'string' }, next_speaker: { type: 'string', enum: ['user', 'model'] } }, required: ['reasoning', 'next_speaker'] };
    expect(valueForSchema(nextSpeaker)).toEqual({ reasoning: 'mock', next_speaker: 'user' });
    const loopCheck = { type: 'object', properties: { unproductive_state_analysis: { type: 'string' }, unproductive_state_confidence: { type: 'number' } }, required: ['unproductive_state_analysis', 'unproductive_state_confidence'] };
    expect(valueForSchema(loopCheck)).toMatchObject({ unproductive_state_confidence: 0 });
  });

  it('respects minimums, lengths and required properties only', () => {
    const schema = {
      type: 'object',
      properties: {
        count: { type: 'integer', minimum: 3 },
        ratio: { type: 'number', exclusiveMinimum: 0.5 },
        code: { type: 'string', minLength: 6, maxLength: 6 },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
        flag: { type: ['boolean', 'null'] },
        optional: { type: 'string' },
      },
      required: ['count', 'ratio', 'code', 'tags', 'flag'],
    };
    expect(valueForSchema(schema)).toEqual({ count: 3, ratio: 1.5, code: 'mockxx', tags: ['mock', 'mock'], flag: false });
  });

  it('returns an empty object for a schema it cannot read', () => {
    expect(valueForSchema(undefined)).toEqual({});
    expect(valueForSchema({ $ref: '#/defs/x' })).toEqual({});
  });
});
