import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { redactLogValue } from '../../src/http/logger-options.js';
import { createTestApp } from '../helpers/app.js';

describe('the service logger uses the redaction engine', () => {
  it('redacts keys and values in every log line and feeds error lines to the recent-error ring', async () => {
    const t = await createTestApp();
    try {
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
      t.context.logger.info({ user: { email: 'frank@example.com', password: 'pw-999' } }, 'profile saved');
      t.context.logger.error(
        { err: new Error(`verify failed for Bearer ${jwt}`), client: '198.51.100.4' },
        'token check failed',
      );
      t.context.logger.warn('a warning from 198.51.100.5');
      const raw = t.rawLogs();
      for (const secret of ['frank@example.com', 'pw-999', jwt, '198.51.100.4', '198.51.100.5'])
        expect(raw).not.toContain(secret);
      const errorLine = t.logs.find((l) => l.msg === 'token check failed') as {
        err: { type: string; message: string };
        client: string;
      };
      expect(errorLine.err.type).toBe('Error');
      expect(errorLine.err.message).toBe('verify failed for Bearer [REDACTED:jwt]');
      expect(errorLine.client).toBe('[REDACTED:ipv4]');

      const ring = t.context.recentErrors.lines();
      expect(ring).toHaveLength(1);
      expect(ring[0]).toContain('token check failed');
      expect(ring[0]).not.toContain(jwt);
    } finally {
      await t.close();
    }
  });

  it('applies the WARDEN_REDACT_* allow/deny lists and disabled patterns to the service logger', async () => {
    const t = await createTestApp({
      env: {
        WARDEN_REDACT_DISABLED_PATTERNS: 'email',
        WARDEN_REDACT_DENY_KEYS: 'customer_ref',
        WARDEN_REDACT_ALLOW_KEYS: 'csrf_token',
      },
    });
    try {
      t.context.logger.info(
        { customerRef: 'C-1', csrf_token: 'visible', password: 'hidden-pw' },
        'order by henry@example.com from 10.9.8.7',
      );
      const line = t.logs.find((l) => l.customerRef !== undefined);
      expect(line).toMatchObject({
        customerRef: '[REDACTED]',
        csrf_token: 'visible',
        password: '[REDACTED]',
      });
      expect(line?.msg).toBe('order by henry@example.com from [REDACTED:ipv4]');
    } finally {
      await t.close();
    }
  });

  it('refuses an unknown pattern type in WARDEN_REDACT_DISABLED_PATTERNS', () => {
    expect(() =>
      loadSettings({
        env: { WARDEN_ENV: 'development', WARDEN_REDACT_DISABLED_PATTERNS: 'ipv4,phone' },
        envFile: false,
        generateDevSecrets: false,
      }),
    ).toThrow(/WARDEN_REDACT_DISABLED_PATTERNS/);
  });

  it('keeps redactLogValue working for existing callers', () => {
    expect(redactLogValue({ authorization: 'Bearer x', note: 'mail grace@example.com' })).toEqual({
      authorization: '[REDACTED]',
      note: 'mail [REDACTED:email]',
    });
  });
});
