import { describe, expect, it } from 'vitest';
import { redactValue } from '../../src/redact/index.js';

// A function in a logged object is no data. Kept as it was, an own `toJSON` ran when the line was
// serialized — after redaction — and wrote whatever it returned, secrets included.
describe('functions in a redacted value', () => {
  it('are dropped, so an own toJSON cannot write an unredacted object', () => {
    const data = { toJSON: () => ({ password: 'Zq8rVt3LmW9pXs2KaB7c' }), label: 'kept' };
    const out = JSON.stringify(redactValue({ data }));
    expect(out).not.toContain('Zq8rVt3LmW9pXs2KaB7c');
    expect(JSON.parse(out)).toEqual({ data: { label: 'kept' } });
  });
});
