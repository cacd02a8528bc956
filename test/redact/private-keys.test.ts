import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';
import { expectUntouched } from './corpus.js';

const body =
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvuNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ';

describe('private key PEM blocks', () => {
  it('redacts PKCS#8, RSA, EC and OpenSSH private keys, keeping the surrounding text', () => {
    for (const label of [
      'PRIVATE KEY',
      'RSA PRIVATE KEY',
      'EC PRIVATE KEY',
      'OPENSSH PRIVATE KEY',
      'ENCRYPTED PRIVATE KEY',
    ]) {
      const pem = `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
      const out = redactText(`loaded key ${pem} from disk`);
      expect(out).toBe('loaded key [REDACTED:private_key] from disk');
    }
  });

  it('redacts a key written with escaped newlines inside JSON', () => {
    const out = redactText(
      `{"key":"-----BEGIN PRIVATE KEY-----\\n${body.replace(/\n/g, '\\n')}\\n-----END PRIVATE KEY-----\\n"}`,
    );
    expect(out).not.toContain('MIIEvQIBADANBg');
    expect(out).toContain('[REDACTED:private_key]');
  });

  it('fails closed on a truncated block without END: everything after BEGIN goes', () => {
    const out = redactText(`-----BEGIN PRIVATE KEY-----\n${body}`);
    expect(out).toBe('[REDACTED:private_key]');
  });

  it('leaves public keys and certificates alone', () => {
    expectUntouched([
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
    ]);
  });
});
