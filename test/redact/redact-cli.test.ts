import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { createLineRedactor, defaultRedactor } from '../../src/redact/index.js';

function memoryIo(stdin: string): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    readStdin: async () => Buffer.from(stdin, 'utf8'),
  };
}

const LOG = [
  '{"level":50,"msg":"login failed for carol@example.com","password":"pw-123456","ip":"10.1.2.3"}',
  '2026-11-23 ERROR connect postgres://app:dbpass@db:5432/app',
  'key follows',
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  '-----END RSA PRIVATE KEY----- loaded from 192.168.0.9',
  'plain line',
].join('\n');

describe('warden redact', () => {
  it('redacts stdin to stdout line by line, JSON by key and value, PEM blocks across lines', async () => {
    const io = memoryIo(LOG);
    expect(await runCli(['node', 'warden', 'redact'], io)).toBe(0);
    expect(io.stdout).toEqual([
      '{"level":50,"msg":"login failed for [REDACTED:email]","password":"[REDACTED]","ip":"[REDACTED:ipv4]"}',
      '2026-11-23 ERROR connect postgres://[REDACTED:url_credentials]@db:5432/app',
      'key follows',
      '[REDACTED:private_key]',
      ' loaded from [REDACTED:ipv4]',
      'plain line',
    ]);
    expect(io.stdout.join('\n')).not.toMatch(/carol|pw-123456|dbpass|MIIEow/);
  });

  it('can keep chosen pattern types and rejects unknown ones', async () => {
    const io = memoryIo('from 10.0.0.1 by dan@example.com');
    expect(await runCli(['node', 'warden', 'redact', '--disable', 'ipv4'], io)).toBe(0);
    expect(io.stdout).toEqual(['from 10.0.0.1 by [REDACTED:email]']);
    const bad = memoryIo('x');
    expect(await runCli(['node', 'warden', 'redact', '--disable', 'nope'], bad)).toBe(2);
    expect(bad.stderr.join('\n')).toContain('unknown pattern type');
  });

  it('drops everything after a private key without END (fail closed)', () => {
    const lines = createLineRedactor(defaultRedactor);
    expect(lines.line('before -----BEGIN PRIVATE KEY-----')).toBe('before [REDACTED:private_key]');
    expect(lines.line('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBeUndefined();
    expect(lines.line('still key material')).toBeUndefined();
  });
});
