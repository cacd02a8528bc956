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
  // The engine skips a string holding no digit and none of `@ : = . _ -`; the inputs below that
  // would have none end in ' 1' so that they reach the pattern they target.
  'python: unclosed single quotes under sensitive keys': "'password': '".repeat(N / 14),
  'python: harmless single-quoted keys': "'a': '".repeat(N / 6),
  'python: quoted keys without a separator': `${"'password' ".repeat(N / 11)} 1`,
  'python: string prefixes without a closing quote': "password=b'".repeat(N / 11),
  'python: escaped single quotes': "\\'password\\': \\'".repeat(N / 17),
  'flag: sensitive flags followed by flags': '--password '.repeat(N / 11),
  'flag: unclosed quoted values': '--password "'.repeat(N / 12),
  'flag: argv elements without values': '"--token", '.repeat(N / 11),
  'flag: long dashed names without a value': '--a-b-c'.repeat(N / 7),
  'flag: dashes only': '-'.repeat(N),
  'flag: empty = values': '--password='.repeat(N / 11),
  'mysql: -p after every client word': 'mysql -p'.repeat(N / 8),
  'mysql: client words, then one -p far away': `${'mysql '.repeat(N / 6)}-pX1`,
  'mysql: one client word per line': `${'mysql\n'.repeat(N / 6)}-pX1`,
  'mysql: unclosed quoted -p values': "mysql -p'".repeat(N / 9),
  'mysql: one long -p value': `mysql -p${'x'.repeat(N)}`,
  'urlencoded: keys after separators': '%3Dpassword'.repeat(N / 11),
  'urlencoded: %25 runs': '%25'.repeat(N / 3),
  'urlencoded: truncated escapes in values': 'password%3D%'.repeat(N / 12),
  'urlencoded: JSON separators with encoded spaces': '%22token%22%3A%20%20%20'.repeat(N / 24),
  'urlencoded: one value of nested escapes': `password%3D${'%2525'.repeat(N / 5)}`,
  'urlencoded: one-letter keys after escapes': '%41a'.repeat(N / 4),
  'xml: opening tags without closing tags': `${'<password>'.repeat(N / 10)} 1`,
  'xml: opening tags and other closing tags': `${'<password></x>'.repeat(N / 14)} 1`,
  'xml: unclosed attributes': '<token x="'.repeat(N / 10),
  'xml: one long name without >': `<${'a'.repeat(N)} 1`,
  'xml: tags without >': `${'<a '.repeat(N / 3)}1`,
  'xml: long content without a closing tag': `<password>${'a'.repeat(N)} 1`,
  'xml: nested sensitive tags': `${'<password><password>'.repeat(N / 20)} 1`,
  'prose: key words only': `${'password '.repeat(N / 9)}1`,
  'prose: key words and "is"': `${'password is '.repeat(N / 12)}1`,
  'prose: one long word after the key word': `password ${'a'.repeat(N)} 1`,
  'prose: token words': 'token '.repeat(N / 6),
  'aws: one long base64 run': 'Ab1/'.repeat(N / 4),
  'aws: 39-character tokens': `${'aB3'.repeat(13)} `.repeat(N / 40),
  'aws: 40-character tokens that are not random': `${'Ab1+'.repeat(10)} `.repeat(N / 41),
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
      NEAR_MISSES['flag: dashes only'],
      NEAR_MISSES['flag: sensitive flags followed by flags'],
      NEAR_MISSES['xml: tags without >'],
      NEAR_MISSES['aws: 39-character tokens'],
      NEAR_MISSES['aws: 40-character tokens that are not random'],
    ]) {
      expect(scanAll.redactText(input ?? '')).toBe(input);
    }
  });

  it('still finds each new secret shape after a long near-miss prefix', () => {
    const cases: [string, string][] = [
      [`${"'a': '".repeat(N / 6)}'\n{'password': 'Py1'}`, "{'password': '[REDACTED:secret_assignment]'}"],
      [`${'--a-b-c'.repeat(N / 7)} --password Fl4g`, ' --password [REDACTED:secret_flag]'],
      [`${'mysql\n'.repeat(N / 6)}mysql -pMy1`, 'mysql -p[REDACTED:secret_flag]'],
      [`${'%41a'.repeat(N / 4)} next=%3Fpassword%3DEnc1`, ' next=%3Fpassword%3D[REDACTED:secret_urlencoded]'],
      [`${'<a '.repeat(N / 3)}\n<password>Xml1</password>`, '<password>[REDACTED:secret_xml]</password>'],
      [`${'password is '.repeat(N / 12)}\npassword Sup3rSecret`, 'password [REDACTED:secret_prose]'],
      [`${`${'aB3'.repeat(13)} `.repeat(N / 40)}wJalrXUtnFEMI/K7MDENG/${'bPxRfiCYEXAMPLEKEY'}`, ' [REDACTED:aws_secret_key]'],
    ];
    for (const [input, ending] of cases) expect(scanAll.redactText(input).endsWith(ending), ending).toBe(true);
  });

  it('still finds a real secret at the end of a long adversarial prefix', () => {
    const out = scanAll.redactText(`${'1.'.repeat(N / 2)} alice@example.com 10.1.2.3`);
    expect(out.endsWith(' [REDACTED:email] [REDACTED:ipv4]')).toBe(true);
  });

  it('scans at most maxStringLength characters and fails closed on the rest', () => {
    const huge = `${'x'.repeat(70_000)} bob@example.com`;
    const out = redactText(huge);
    // The cut splits one 70,000-character token: the last 4 KiB before it go with the rest.
    expect(out).toBe(`${'x'.repeat(65_536 - 4096)}[REDACTED:truncated]`);
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
