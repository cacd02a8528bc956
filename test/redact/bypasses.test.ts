import { describe, expect, it } from 'vitest';
import {
  createLineRedactor,
  defaultRedactor,
  REDACTED,
  redactText,
  redactValue,
} from '../../src/redact/index.js';

// Inputs that used to come out of the engine with the secret still in them.
const leaks = (out: unknown, secret: string): boolean => JSON.stringify(out).includes(secret);

describe('redaction bypasses', () => {
  it('redacts quoted values whole: single quotes, spaces, escaped JSON quotes', () => {
    expect(redactText("password='hunter2'")).toBe("password='[REDACTED:secret_assignment]'");
    expect(redactText('{"user":"bob","pass":"hunter2"}')).toBe('{"user":"bob","pass":"[REDACTED:secret_assignment]"}');
    expect(redactText('pw=hunter2 totp=123456')).toBe('pw=[REDACTED:secret_assignment] totp=[REDACTED:secret_assignment]');
    expect(redactText('password="correct horse battery"')).toBe('password="[REDACTED:secret_assignment]"');
    expect(redactText('{"client_secret": "s3cret with spaces, and commas"}')).toBe(
      '{"client_secret": "[REDACTED:secret_assignment]"}',
    );
    expect(redactText('{"password":"a\\"quoted\\" word"}')).toBe(
      '{"password":"[REDACTED:secret_assignment]"}',
    );
    expect(redactText('body={\\"password\\":\\"hunter2\\"}')).toBe(
      'body={\\"password\\":\\"[REDACTED:secret_assignment]\\"}',
    );
    expect(redactText("password='unclosed quote runs to the end")).toBe(
      "password='[REDACTED:secret_assignment]",
    );
  });

  it('still finds assignments inside the quoted value of a harmless key', () => {
    expect(redactText('msg="login failed password=hunter2 for bob"')).toBe(
      'msg="login failed password=[REDACTED:secret_assignment] for bob"',
    );
  });

  it('redacts a whole object or array assigned to a sensitive key in text', () => {
    const line = '[{"user":"bob","credentials":{"user":"bob","password":{"value":"hunter2"}},"status":200}]';
    for (const out of [redactText(line), createLineRedactor(defaultRedactor).line(line)]) {
      expect(out).not.toContain('hunter2');
      expect(out).toContain('"status":200');
    }
    expect(redactText('token=["a1b2c3", "d4e5f6"] next=1')).toBe('token=[REDACTED:secret_assignment] next=1');
  });

  it('redacts JSON held in a string value by key, like any object', () => {
    const out = redactValue({ body: '{"user":{"password":{"value":"hunter2"}},"n":1}' }) as { body: string };
    expect(JSON.parse(out.body)).toEqual({ user: { password: REDACTED }, n: 1 });
  });

  it('redacts secrets and personal data in object keys, keeping colliding keys apart', () => {
    const out = redactValue({
      attempts: { 'bob@example.com': 3, 'eve@example.com': 1 },
      byKey: { wdn_abcdefgh12345678: 'ok' },
    });
    expect(
      leaks(out, 'bob@example.com') || leaks(out, 'eve@example.com') || leaks(out, 'wdn_abcdefgh12345678'),
    ).toBe(false);
    expect(out).toEqual({
      attempts: { '[REDACTED:email]': 3, '[REDACTED:email]#2': 1 },
      byKey: { '[REDACTED:warden_api_key]': 'ok' },
    });
  });

  it('keeps a "__proto__" key from parsed JSON as data, and redacts under it', () => {
    const out = redactValue(JSON.parse('{"__proto__":{"password":"hunter2"}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ password: REDACTED });
  });

  it('redacts the whole userinfo when the password holds an unencoded @', () => {
    expect(redactText('postgres://app:p@ss@localhost:5432/db')).toBe(
      'postgres://[REDACTED:url_credentials]@localhost:5432/db',
    );
    expect(
      redactText('see https://example.com/users/@me and https://a.example/?to=x@y.example'),
    ).not.toContain('url_credentials');
  });

  it('treats BigInt card numbers like numeric ones', () => {
    expect(redactValue({ pan: 4111111111111111n })).toEqual({ pan: '[REDACTED:credit_card]' });
    expect(redactValue({ id: 1700000000000000n })).toEqual({ id: 1700000000000000n });
  });

  it('recognises sensitive keys written in compatibility forms (full-width letters)', () => {
    expect(redactValue({ ＰＡＳＳＷＯＲＤ: 'hunter2' })).toEqual({ ＰＡＳＳＷＯＲＤ: REDACTED });
  });
});
