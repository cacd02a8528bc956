import { describe, expect, it } from 'vitest';
import { createRecentErrorLog, isPinoErrorLine } from '../../src/resilience/recent-error-log.js';

describe('recent error ring buffer', () => {
  it('keeps the newest lines up to its capacity, oldest first', () => {
    const ring = createRecentErrorLog({ capacity: 3 });
    for (const line of ['a', 'b', 'c', 'd', 'e']) ring.push(`${line}\n`);
    expect(ring.lines()).toEqual(['c', 'd', 'e']);
    ring.clear();
    expect(ring.lines()).toEqual([]);
  });

  it('cuts long lines and rejects a zero capacity', () => {
    const ring = createRecentErrorLog({ capacity: 2, maxLineLength: 4 });
    ring.push('abcdefgh');
    expect(ring.lines()).toEqual(['abcd']);
    expect(() => createRecentErrorLog({ capacity: 0 })).toThrow(TypeError);
  });

  it('recognises pino error and fatal lines', () => {
    expect(isPinoErrorLine('{"level":50,"msg":"x"}')).toBe(true);
    expect(isPinoErrorLine('{"level":60,"msg":"x"}')).toBe(true);
    expect(isPinoErrorLine('{"level":40,"msg":"x"}')).toBe(false);
  });
});
