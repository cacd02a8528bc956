import { expect } from 'vitest';
import { redactText } from '../../src/redact/index.js';

/** Asserts that each sample loses `secret` and gains `[REDACTED:<type>]`. */
export function expectRedacted(samples: readonly { text: string; secret: string }[], type: string): void {
  for (const { text, secret } of samples) {
    const out = redactText(text);
    expect(out, text).not.toContain(secret);
    expect(out, text).toContain(`[REDACTED:${type}]`);
  }
}

/** Asserts that each sample comes out unchanged. */
export function expectUntouched(samples: readonly string[]): void {
  for (const text of samples) expect(redactText(text), text).toBe(text);
}
