import { describe, expect, it } from 'vitest';
import { createLineRedactor, defaultRedactor, redactText } from '../../src/redact/index.js';

// The separator of `key: value` / `key = value` allows at most 3 spaces or tabs on each side
// (ASSIGNMENT in value-patterns.ts). Aligned output — YAML and config dumps, `describe`-style
// tables, pretty-printers that align colons — uses more, and the value then passes in clear.
describe('secret_assignment with an aligned (wide) separator', () => {
  it('redacts an aligned YAML / table value', () => {
    const dump = ['username:     bob', 'password:     Hunter2isMyPw', 'api_key:      abcdef1234567890'].join(
      '\n',
    );
    const out = redactText(dump);
    expect(out).toContain('username:     bob');
    expect(out).not.toContain('Hunter2isMyPw');
    expect(out).not.toContain('abcdef1234567890');
  });

  it('redacts an aligned env-style assignment', () => {
    expect(redactText('WARDEN_SECRET_KEY      = k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2')).not.toContain(
      'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2',
    );
  });

  it('redacts a JSON value whose colon is padded with four spaces', () => {
    expect(redactText('"password"    :    "Hunter2isMyPw"')).not.toContain('Hunter2isMyPw');
  });

  it('warden redact (the line redactor) removes it too', () => {
    const lines = createLineRedactor(defaultRedactor);
    expect(lines.line('  client_secret:\t\t\t\tHunter2isMyPw')).not.toContain('Hunter2isMyPw');
  });
});
