import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';
import { expectRedacted, expectUntouched } from './corpus.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('bearer tokens, Basic credentials and JWTs', () => {
  it('redacts JWTs wherever they appear', () => {
    expectRedacted(
      [
        { text: `token ${JWT}`, secret: JWT },
        { text: `{"id_token":"${JWT}"}`.replace('id_token', 'x'), secret: JWT },
        {
          text: `https://app.example/cb#access=${JWT}`,
          secret: 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
        },
      ],
      'jwt',
    );
  });

  it('redacts an unsigned JWT (alg none, empty signature)', () => {
    const unsigned = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
    expect(redactText(`got ${unsigned} here`)).toBe('got [REDACTED:jwt] here');
  });

  it('redacts opaque bearer tokens and keeps the scheme word', () => {
    expect(redactText('Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543')).toBe(
      'Authorization: Bearer [REDACTED:bearer_token]',
    );
    expectRedacted(
      [{ text: 'curl -H "authorization: bearer abc.DEF-123_456~xyz"', secret: 'abc.DEF-123_456~xyz' }],
      'bearer_token',
    );
  });

  it('takes a word after Bearer/Token for a credential unless it is a plain English word', () => {
    expectRedacted(
      [
        { text: 'Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b', secret: '9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b' },
        { text: 'sent Bearer abcdefghijklmnopqrstu', secret: 'abcdefghijklmnopqrstu' },
        { text: 'sent Bearer hunterTwoSecret', secret: 'hunterTwoSecret' },
        { text: 'sent token sekrit-1', secret: 'sekrit-1' },
      ],
      'bearer_token',
    );
    expectUntouched([
      'The token denylist is temporarily unavailable; retry later',
      'bearer tokens are accepted here',
      'Token expired at noon',
      'ACCESS TOKEN REVOKED',
    ]);
  });

  it('redacts Basic credentials', () => {
    expect(redactText('Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe(
      'Authorization: Basic [REDACTED:basic_auth]',
    );
  });

  it('redacts values assigned to sensitive names in plain text', () => {
    expectRedacted(
      [
        { text: 'password=hunter2 user=bob', secret: 'hunter2' },
        { text: 'client_secret: s3cr3t-value', secret: 's3cr3t-value' },
        { text: '{"refresh_token": "r-123456"}', secret: 'r-123456' },
        { text: 'api-key=abc123xyz', secret: 'abc123xyz' },
      ],
      'secret_assignment',
    );
    expect(redactText('password=hunter2 user=bob')).toBe('password=[REDACTED:secret_assignment] user=bob');
  });

  it('leaves ordinary words and base64-looking ids alone', () => {
    expectUntouched([
      'the bearer of bad news',
      'Basic usage: run it',
      'eyJ is how base64 JSON starts',
      'user=bob status=200 path=/v1/keys',
      'token_type=Bearer',
      'request_id=req-00000001',
    ]);
  });
});

describe('Warden refresh tokens and OAuth client secrets', () => {
  const refresh = 'wrt_Qm9vdHN0cmFwLXJlZnJlc2gtdG9rZW4tZm9yLXRlc3RzLW9ubHk';
  const clientSecret = 'wcs_7Hq2ZbK9pLmN4xV1cR8tY6wE3sA5dF0gJ2hU9iO';

  it('redacts them in free text and in values under harmless keys', () => {
    expectRedacted(
      [
        { text: `refresh failed for ${refresh}`, secret: refresh },
        { text: `client sent ${clientSecret} as its id`, secret: clientSecret },
      ],
      'warden_token',
    );
  });

  it('leaves short or embedded look-alikes alone', () => {
    expectUntouched(['the wrt_ prefix marks refresh tokens', 'abcwcs_7Hq2ZbK9pLmN4xV1cR8tY6wE3sA5dF0', 'wcs_short']);
  });
});
