import { describe, expect, it } from 'vitest';
import { createRedactor, isSensitiveKey, REDACTED, redactText, redactValue } from '../../src/redact/index.js';

describe('redaction by key name', () => {
  it('recognises sensitive names case-insensitively, ignoring - and _', () => {
    for (const key of [
      'password',
      'Passwd',
      'client_secret',
      'ACCESS_TOKEN',
      'apiKey',
      'api_key',
      'X-API-Key',
      'Authorization',
      'cookie',
      'Set-Cookie',
      'private_key',
      'refreshToken',
      'pin',
      'otp',
      'pass',
      'PW',
      'totp',
      'passcode',
    ]) {
      expect(isSensitiveKey(key), key).toBe(true);
    }
    for (const key of [
      'email_verified',
      'user',
      'name',
      'keyId',
      'spinner',
      'hotpath',
      'expires_in',
      'description',
      'passenger',
      'compass',
    ]) {
      expect(isSensitiveKey(key), key).toBe(false);
    }
  });

  it('recognises key material named by its use, without taking every name with "key" in it', () => {
    for (const key of ['hmac_key', 'HMAC-Key', 'hmacKey', 'signing_key', 'signingKey', 'master_key', 'masterKey', 'secret_key', 'secretKey', 'private_key', 'privateKey']) {
      expect(isSensitiveKey(key), key).toBe(true);
    }
    for (const key of ['key', 'key_id', 'kid', 'idempotency_key', 'idempotencyKey', 'cache_key', 'sort_key', 'public_key', 'publicKey', 'monkey']) {
      expect(isSensitiveKey(key), key).toBe(false);
    }
    expect(redactValue({ hmac_key: 'hk-1', signing_key: { d: 'x' }, key_id: 'k-1', idempotency_key: 'i-1' })).toEqual({
      hmac_key: REDACTED,
      signing_key: REDACTED,
      key_id: 'k-1',
      idempotency_key: 'i-1',
    });
    expect(redactText('rotated hmac_key=hk-2 for key_id=k-2')).toBe('rotated hmac_key=[REDACTED:secret_assignment] for key_id=k-2');
  });

  it('recognises a short password name as the last word of a longer key, not inside a word', () => {
    for (const key of ['db_pass', 'SMTP_PASS', 'db_pw', 'MYSQL_PWD', 'redisPass', 'RedisPass', 'basic_auth', 'proxy-auth', 'user.pin', 'card_cvv', 'user ssn', 'idJwt']) {
      expect(isSensitiveKey(key), key).toBe(true);
    }
    for (const key of ['bypass', 'cache_bypass', 'overpass', 'auth_method', 'oauth', 'pin_count', 'pass_through', 'spinner', 'Compass']) {
      expect(isSensitiveKey(key), key).toBe(false);
    }
    expect(redactValue({ db_pass: 'dp-1', mysql_pwd: 'mp-2', redisPass: 'rp-3', cache_bypass: true })).toEqual({
      db_pass: REDACTED,
      mysql_pwd: REDACTED,
      redisPass: REDACTED,
      cache_bypass: true,
    });
    expect(redactText('could not connect with DB_PASS=dp-4 as app')).not.toContain('dp-4');
  });

  it('replaces values in nested objects and arrays and returns a deep copy', () => {
    const input = {
      user: { name: 'n', password: 'p', sessions: [{ token: 't1' }, { token: 't2', note: 'ok' }] },
      headers: { Cookie: 'c=1' },
    };
    const out = redactValue(input);
    expect(out).toEqual({
      user: {
        name: 'n',
        password: REDACTED,
        sessions: [{ token: REDACTED }, { token: REDACTED, note: 'ok' }],
      },
      headers: { Cookie: REDACTED },
    });
    expect(input.user.password).toBe('p');
  });

  it('redacts whole objects under a sensitive key, not just strings', () => {
    expect(redactValue({ credentials: { user: 'u', pass: 'p' } })).toEqual({ credentials: REDACTED });
  });

  it('turns errors into redacted plain objects and stops at the depth limit (fail closed)', () => {
    const out = redactValue({ err: new Error('login for bob@example.com failed') }) as {
      err: { message: string };
    };
    expect(out.err.message).toBe('login for [REDACTED:email] failed');
    let deep: Record<string, unknown> = { secretless: 'x' };
    for (let i = 0; i < 20; i += 1) deep = { inner: deep };
    expect(JSON.stringify(redactValue(deep))).toContain('[REDACTED:too_deep]');
  });

  it('honours allow and deny lists for keys and values, and disabled patterns', () => {
    const redactor = createRedactor({
      allowKeys: ['csrf_token'],
      denyKeys: ['ssn_number', 'internalCode'],
      allowValues: ['127.0.0.1'],
      denyValues: ['project-blue-falcon'],
      disabledPatterns: ['ipv6'],
    });
    expect(
      redactor.redactValue({ csrf_token: 'public', internal_code: 'x', ssn_number: '1', token: 't' }),
    ).toEqual({
      csrf_token: 'public',
      internal_code: REDACTED,
      ssn_number: REDACTED,
      token: REDACTED,
    });
    expect(redactor.redactText('from 127.0.0.1 and 10.0.0.2 and ::1 about project-blue-falcon')).toBe(
      'from 127.0.0.1 and [REDACTED:ipv4] and ::1 about [REDACTED:denied]',
    );
    expect(() => createRedactor({ disabledPatterns: ['nope' as 'ipv4'] })).toThrow(TypeError);
  });

  it('keeps verbatim keys verbatim but still redacts sensitive names', () => {
    const redactor = createRedactor({ verbatimKeys: ['ip'] });
    expect(redactor.redactValue({ ip: '10.0.0.1', msg: 'from 10.0.0.1', password: 'x' })).toEqual({
      ip: '10.0.0.1',
      msg: 'from [REDACTED:ipv4]',
      password: REDACTED,
    });
  });
});
