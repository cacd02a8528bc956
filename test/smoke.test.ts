import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors/index.js';

describe('error registry', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
    }
  });
});
