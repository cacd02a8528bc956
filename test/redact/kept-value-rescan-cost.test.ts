import { describe, expect, it } from 'vitest';
import { redactValue } from '../../src/redact/index.js';

// A value kept by its first characters (`//`, a URL scheme; `[REDACTED`) is kept without being
// delimited first, since the scan resumes inside it anyway: delimiting each `pw=//` of a crafted
// string cost up to 4096 characters a key, ~1000× ordinary text (1 MiB took 7.5 s, now 0.1 s;
// measured in bench/README.md, session 19, not asserted here). What it must still do:
const rep = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

describe('assignment values kept by their first characters', () => {
  it('keeps a run of `pw=//` as it is', () => {
    const text = rep('pw=//', 65_000);
    expect(redactValue({ f: text })).toEqual({ f: text });
  });

  it('still redacts a sensitive value that follows kept ones', () => {
    expect(redactValue({ f: 'url=//host pw=//x token="[REDACTED]" password=hunter2' })).toEqual({
      f: 'url=//host pw=//x token="[REDACTED]" password=[REDACTED:secret_assignment]',
    });
  });
});
