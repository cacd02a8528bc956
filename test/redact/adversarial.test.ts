import { describe, expect, it } from 'vitest';
import { createRedactor, redactText, redactValue } from '../../src/redact/index.js';

// The engine must not be a denial-of-service vector. Each input is ~100k characters of
// near-misses built to make a backtracking regex go quadratic or exponential; the tests assert
// on the results (a catastrophic pattern would never finish within the test timeout).
const N = 100_000;
const scanAll = createRedactor({ maxStringLength: 4 * N });

const NEAR_MISSES: Record<string, string> = {
  'email: long local part, no @': 'a'.repeat(N),
  'email: local part then @ at the end': `${'a'.repeat(N)}@`,
  'email: many @ without domains': 'a@'.repeat(N / 2),
  'email: dotted labels without a TLD': `x@${'a.'.repeat(N / 2)}1`,
  'email: hyphen labels': `x@${'a-'.repeat(N / 2)}`,
  'jwt: header with no dot': `eyJ${'a'.repeat(N)}`,
  'jwt: two segments only': `eyJ${'a'.repeat(N / 2)}.${'b'.repeat(N / 2)}`,
  'jwt: many short headers': 'eyJaaaaaa. '.repeat(N / 11),
  'ipv4: dots and digits': '1.'.repeat(N / 2),
  'ipv4: octets with too many parts': '10.0.0.'.repeat(N / 7),
  'ipv6: hex and colons without a compression': '1a:'.repeat(N / 3),
  'ipv6: repeated double colons': 'ffff::'.repeat(N / 6),
  'ipv6: colons only': ':'.repeat(N),
  'card: one long digit run': '4'.repeat(N),
  'card: digits and dashes': '4-'.repeat(N / 2),
  'card: digits and spaces': '4 1 '.repeat(N / 4),
  'pem: BEGIN markers without END': '-----BEGIN PRIVATE KEY-----'.repeat(N / 27),
  'url: scheme and a long userinfo without @': `https://${'a'.repeat(N)}`,
  'url: many schemes': 'a://'.repeat(N / 4),
  'assignment: repeated keys': 'password='.repeat(N / 9),
  'assignment: key chars without separator': 'a.b-c_'.repeat(N / 6),
  'assignment: nested harmless quoted keys': 'a="'.repeat(N / 3),
  'assignment: alternating quotes': 'a="b=\''.repeat(N / 6),
  'assignment: harmless keys opening brackets': 'x={'.repeat(N / 3),
  'assignment: sensitive keys opening brackets': 'password={'.repeat(N / 10),
  'assignment: sensitive keys opening quotes': 'token="'.repeat(N / 7),
  'assignment: escaped quotes': 'secret=\\"'.repeat(N / 9),
  'bearer: scheme words': 'Bearer '.repeat(N / 7),
  'provider: prefixes': 'wdn_ghp_sk-AKIAxoxb-sk_live_AIza '.repeat(N / 33),
};

describe('adversarial inputs complete with bounded work', () => {
  for (const [name, input] of Object.entries(NEAR_MISSES)) {
    it(name, () => {
      const out = scanAll.redactText(input);
      expect(typeof out).toBe('string');
      // Replacements never make text longer by more than a constant factor.
      expect(out.length).toBeLessThanOrEqual(input.length * 4 + 64);
      // Re-redacting is a no-op: the output holds nothing the engine still recognises.
      expect(scanAll.redactText(out)).toBe(out);
    });
  }

  it('keeps long near-misses that are not secrets untouched', () => {
    for (const input of [
      NEAR_MISSES['email: long local part, no @'],
      NEAR_MISSES['card: one long digit run'],
      NEAR_MISSES['ipv6: colons only'],
    ]) {
      expect(scanAll.redactText(input ?? '')).toBe(input);
    }
  });

  it('still finds a real secret at the end of a long adversarial prefix', () => {
    const out = scanAll.redactText(`${'1.'.repeat(N / 2)} alice@example.com 10.1.2.3`);
    expect(out.endsWith(' [REDACTED:email] [REDACTED:ipv4]')).toBe(true);
  });

  it('scans at most maxStringLength characters and fails closed on the rest', () => {
    const huge = `${'x'.repeat(70_000)} bob@example.com`;
    const out = redactText(huge);
    expect(out).toBe(`${'x'.repeat(65_536)}[REDACTED:truncated]`);
    expect(out).not.toContain('bob@example.com');
  });

  it('caps the characters scanned per redactValue call', () => {
    const redactor = createRedactor({ maxCharsPerValue: 1000 });
    const out = redactor.redactValue({
      a: 'x'.repeat(900),
      b: 'y'.repeat(200),
      c: 'carol@example.com',
    }) as Record<string, string>;
    expect(out.a).toBe('x'.repeat(900));
    expect(out.b).toBe('y'.repeat(200));
    expect(out.c).toBe('[REDACTED:budget]');
  });

  it('keeps many object keys that redact to the same text apart in linear time', () => {
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`u${i}@example.com`, i]));
    const out = redactValue(wide) as Record<string, number>;
    expect(Object.keys(out)).toHaveLength(20_000);
    expect(out['[REDACTED:email]#20000']).toBe(19_999);
  });

  it('handles cyclic objects through the depth limit', () => {
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic.self = cyclic;
    expect(JSON.stringify(redactValue(cyclic))).toContain('[REDACTED:too_deep]');
  });
});
