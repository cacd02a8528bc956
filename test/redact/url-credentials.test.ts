import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';
import { expectUntouched } from './corpus.js';

describe('URLs with credentials', () => {
  it('redacts user:password and user-only credentials, keeping scheme and host', () => {
    expect(redactText('connecting to postgres://warden:S3cr3t!@db.internal:5432/warden')).toBe(
      'connecting to postgres://[REDACTED:url_credentials]@db.internal:5432/warden',
    );
    expect(redactText('clone https://x-access-token:abc123@github.com/org/repo.git')).toBe(
      'clone https://[REDACTED:url_credentials]@github.com/org/repo.git',
    );
    expect(redactText('redis://:pa55word@cache:6379/0')).toBe(
      'redis://[REDACTED:url_credentials]@cache:6379/0',
    );
  });

  it('leaves URLs without credentials alone (an @ in the path is not userinfo)', () => {
    expectUntouched([
      'https://example.com/a/b?c=d',
      'https://example.com/users/@me',
      'see https://www.npmjs.com/package/@fastify/cors',
    ]);
  });
});
