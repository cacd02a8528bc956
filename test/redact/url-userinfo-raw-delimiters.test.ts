import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';

// A password pasted unencoded into a connection URL very often holds `/` (any base64 secret:
// ~40 % of 32-character ones), sometimes `?` or `#`. In the `user:password@` form it is still
// redacted up to its `@`; a port after the host's `:` is not taken for a password, so an
// address in the query of a URL with a port keeps the URL's host and path.
const B64 = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+'];
const half = fc.string({ unit: fc.constantFrom(...B64), minLength: 10, maxLength: 20 });

describe('redaction: URL userinfo with an unencoded / ? or # in the password', () => {
  it('does not leave the password in clear (shrunk counterexample)', () => {
    const secret = '00000000000000/000k00000==';
    expect(redactText(`https://user:${secret}@db.example.com/x`)).not.toContain(secret);
    expect(redactText('postgres://u:ab/cd9XyZ12345678@h/db')).not.toContain('cd9XyZ12345678');
    expect(redactText('postgres://u:ab?cd9XyZ12345678@h/db')).not.toContain('cd9XyZ12345678');
    expect(redactText('redis://:ab#cd9XyZ12345678@cache:6379')).not.toContain('cd9XyZ12345678');
  });

  it('never leaves a base64 password in clear (property)', () => {
    fc.assert(
      fc.property(half, half, fc.constantFrom('/', '?', '#'), fc.constantFrom('postgres://warden:', 'https://user:', 'redis://:'), (a, b, d, prefix) => {
        const secret = `${a}${d}${b}==`;
        const out = redactText(`${prefix}${secret}@db.internal:5432/app`);
        expect(out).not.toContain(secret);
        expect(out).not.toContain(`${b}==`);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['redis://default:/9fK2+aQzLw@redis:6379', '9fK2+aQzLw'],
    ['amqp://svc:/Zq8x/Lp3@mq.internal/vhost', 'Zq8x'],
    ['https://bot:?Tk91mNq@api/', 'Tk91mNq'],
  ])('redacts a password that starts with / ? or # (%s)', (text, secret) => {
    expect(redactText(text)).not.toContain(secret);
  });

  it('keeps the host, port and path of a URL without credentials whose query holds an address', () => {
    expect(redactText('GET https://api.example.com:8443/v1/users?email=bob@example.com')).toBe('GET https://api.example.com:8443/v1/users?email=[REDACTED:email]');
    expect(redactText('https://api.example.com/a:b?to=bob@example.com')).toBe('https://api.example.com/a:b?to=[REDACTED:email]');
  });
});
