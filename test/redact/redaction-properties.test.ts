import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactText, redactValue } from '../../src/redact/index.js';

// Properties of redaction: a random secret in any documented sensitive position never survives,
// redactValue never throws, and it is idempotent on JSON values.

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('redaction', () => {
  // Secrets without `/` (see redact-url-userinfo-raw-delimiters.test.ts for that case).
  const secret = fc
    .oneof(
      fc.string({ unit: fc.constantFrom(...B62), minLength: 24, maxLength: 48 }),
      fc.string({ unit: fc.constantFrom(...B62, '-', '_'), minLength: 24, maxLength: 48 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 64 }),
      fc.string({ unit: fc.constantFrom(...B62, '+'), minLength: 24, maxLength: 48 }).map((s) => `${s}==`),
    )
    .filter((s) => /[0-9]/.test(s) && /[a-z]/.test(s));
  const key = fc.constantFrom(
    'password',
    'token',
    'api_key',
    'apiKey',
    'access_token',
    'client_secret',
    'X-Api-Key',
    'Authorization',
    'secret',
    'Cookie',
    'pwd',
    'auth',
    'session_id',
  );
  it('a random secret in a header, query parameter, JSON field, Bearer text or URL userinfo never survives', () => {
    fc.assert(
      fc.property(secret, key, (s, k) => {
        const texts = [
          `Authorization: Bearer ${s}`,
          `authorization: bearer ${s}`,
          `Proxy-Authorization: Bearer ${s}`,
          `"authorization":"Bearer ${s}"`,
          `GET /v1/x?${k}=${s}&a=1 HTTP/1.1`,
          `GET /v1/x?a=1&${k}=${s} HTTP/1.1`,
          `https://api.example.com/p?${k.toUpperCase()}=${s}`,
          `{"${k}":"${s}"}`,
          `{ "${k}" : "${s}" }`,
          `{"a":{"${k}":"${s}"}}`,
          `${k}: ${s}`,
          `${k}='${s}'`,
          `https://user:${s}@db.example.com/x`,
          `postgres://warden:${s}@10.0.0.1:5432/db`,
          `redis://:${s}@cache:6379`,
          `https://${s}@github.com/x.git`,
          `Bearer ${s}`,
          `X-API-Key: ${s}`,
          `Cookie: session=${s}`,
          `curl -H "Authorization: Bearer ${s}" https://x`,
        ];
        for (const t of texts) {
          const r = redactText(t);
          expect(r, t).not.toContain(s);
          expect(redactText(r), t).toBe(r);
        }
        const v = redactValue({
          headers: { [k]: s, authorization: `Bearer ${s}` },
          [k]: s,
          body: `{"${k}":"${s}"}`,
          url: `/x?${k}=${s}`,
          rawHeaders: ['Authorization', `Bearer ${s}`, 'X-Api-Key', s],
        });
        expect(JSON.stringify(v)).not.toContain(s);
      }),
      { numRuns: 200 },
    );
  });

  it('redactValue never throws and is idempotent on JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const r = redactValue(v);
        expect(redactValue(r)).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });
});
