import { Type, type TRecord, type TString, type TUnknown } from '@sinclair/typebox';

/**
 * How deep a free-form JSON field of a request body (API-key `metadata`) may nest objects and
 * arrays; the field itself is level 1. Deeper values used to reach `JSON.stringify`, whose
 * recursion overflowed the stack (500) at some thousands of levels; nothing needs more.
 */
export const MAX_JSON_DEPTH = 8;

/**
 * Whether `value` nests objects and arrays at most `limit` levels (a scalar is level 0, an
 * object or array 1, one inside it 2…). Iterative, so a value of any depth is safe to ask
 * about; stops at the first level too deep.
 */
export function nestsWithin(value: unknown, limit: number): boolean {
  const pending: unknown[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const current = pending.pop();
    const depth = depths.pop() as number;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return false;
    for (const inner of Array.isArray(current) ? current : Object.values(current as Record<string, unknown>)) {
      if (inner !== null && typeof inner === 'object') {
        pending.push(inner);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

/**
 * The schema of a free-form JSON object field of a body: at most `maxProperties` keys of at
 * most `maxKeyLength` characters, values of any JSON type nested at most `maxDepth` levels (the
 * `maxDepth` keyword of the app's validator, `validation.ts`; a deeper value is 400
 * `validation_failed` naming the field). Every such field uses this, so none is unbounded.
 */
export function jsonObjectSchema(options: { maxProperties: number; maxKeyLength: number; maxDepth?: number }): TRecord<TString, TUnknown> {
  return Type.Record(Type.String({ maxLength: options.maxKeyLength }), Type.Unknown(), {
    maxProperties: options.maxProperties,
    maxDepth: options.maxDepth ?? MAX_JSON_DEPTH,
  });
}
