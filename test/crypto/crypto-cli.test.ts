import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { createKeyringFieldCipher } from '../../src/crypto/field-cipher.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { runWarden } from '../helpers/cli.js';
import { createTestStorage } from '../helpers/databases.js';

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function cli(args: string[], stdin = ''): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => Buffer.from(stdin) };
  const code = await runCli(['node', 'warden', ...args], io);
  return { code, out, err };
}

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-crypto-cli-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('warden crypto', () => {
  it('keygen prints usable keys in both formats', async () => {
    const fernet = await cli(['crypto', 'keygen', '--format', 'fernet']);
    expect(fernet.code).toBe(0);
    expect(fernet.out[0]).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    const gcm = await cli(['crypto', 'keygen', '--format', 'aes-gcm', '--key-id', 'k7']);
    expect(gcm.out[0]).toMatch(/^k7:[A-Za-z0-9_-]{43}$/);
    expect((await cli(['crypto', 'keygen', '--format', 'rot13'])).code).toBe(2);
  });

  it.each(['fernet', 'aes-gcm'] as const)('%s: encrypt then decrypt round-trips stdin with a key file', async (format) => {
    const keyFile = path.join(tmp(), 'key');
    writeFileSync(keyFile, `${format === 'fernet' ? generateFernetKey() : generateAesKeyEntry()}\n`, { mode: 0o600 });
    const sealed = await cli(['crypto', 'encrypt', '--format', format, '--key-file', keyFile], 'top secret\n');
    expect(sealed.code).toBe(0);
    expect(sealed.out[0]).not.toContain('top secret');
    const opened = await cli(['crypto', 'decrypt', '--format', format, '--key-file', keyFile], sealed.out[0]);
    expect(opened).toEqual({ code: 0, out: ['top secret'], err: [] });
  });

  it.each(['fernet', 'aes-gcm'] as const)('%s: a tampered or wrong-key ciphertext exits 65 with no plaintext and no stack trace', async (format) => {
    const keyEnv = format === 'fernet' ? 'WARDEN_FERNET_KEYS' : 'WARDEN_ENCRYPTION_KEY';
    const newKey = (): string => (format === 'fernet' ? generateFernetKey() : generateAesKeyEntry('k1'));
    vi.stubEnv(keyEnv, newKey());
    const sealed = (await cli(['crypto', 'encrypt', '--format', format], 'the plaintext')).out[0] as string;
    const tampered = `${sealed.slice(0, 30)}${sealed[30] === 'A' ? 'B' : 'A'}${sealed.slice(31)}`;
    for (const input of [tampered, sealed.slice(0, 20), 'garbage!']) {
      const result = await cli(['crypto', 'decrypt', '--format', format], input);
      expect(result.code).toBe(65);
      expect(result.out).toEqual([]);
      expect(result.err.join('\n')).toMatch(/^warden: .*\(decryption_failed\)$|^warden: the ciphertext is not base64url$/);
      expect(result.err.join('\n')).not.toMatch(/plaintext|\s+at /);
    }
    vi.stubEnv(keyEnv, newKey());
    const wrongKey = await cli(['crypto', 'decrypt', '--format', format], sealed);
    expect(wrongKey.code).toBe(65);
    expect(wrongKey.out).toEqual([]);
  });

  it('refuses to run without a key, and never takes one on argv', async () => {
    vi.stubEnv('WARDEN_ENCRYPTION_KEY', '');
    const result = await cli(['crypto', 'encrypt', '--format', 'aes-gcm'], 'x');
    expect(result.code).toBe(2);
    expect(result.err[0]).toBe('warden: no key: pass --key-file or set WARDEN_ENCRYPTION_KEY');
    expect((await cli(['crypto', 'encrypt', '--format', 'aes-gcm', '--key', 'k1:abc'], 'x')).code).toBe(2);
    // A key file that cannot be read is unreadable input (66), named with the reason.
    const missing = path.join(os.tmpdir(), `warden-no-such-key-${process.pid}.txt`);
    const unreadable = await cli(['crypto', 'encrypt', '--format', 'aes-gcm', '--key-file', missing], 'x');
    expect(unreadable.code).toBe(66);
    expect(unreadable.err).toEqual([`warden: cannot read ${missing}: no such file (ENOENT)`]);
  });

  it('rotate re-encrypts users.email with the active key and reports undecryptable rows', async () => {
    const storage = await createTestStorage('sqlite');
    try {
      const root = 'rotate-cli-root-secret-0123456789abcdefghij';
      const k1 = generateAesKeyEntry('k1');
      const k2 = generateAesKeyEntry('k2');
      const old = createKeyringFieldCipher({ rootSecret: root, keyring: k1 });
      await storage.db
        .insertInto('users')
        .values({ id: 'u1', email: old.encrypt('a@example.com', 'users.email:u1'), email_lookup: 'x1', name: null, password_hash: 'x', is_active: 1, is_admin: 0, created_at: 1, updated_at: 1, password_changed_at: 1 })
        .execute();
      vi.stubEnv('WARDEN_DATABASE_URL', storage.url);
      vi.stubEnv('WARDEN_DATA_DIR', tmp());
      vi.stubEnv('WARDEN_SECRET_KEY', root);
      vi.stubEnv('WARDEN_ENCRYPTION_KEY', `${k2},${k1}`);
      vi.stubEnv('WARDEN_SECRETS_PROVIDER', 'env');
      const result = await cli(['crypto', 'rotate']);
      expect(result.err).toEqual([]);
      expect(result.code).toBe(0);
      // One line per registered encrypted column (users.email, signing_keys.private_key, …).
      expect(result.out).toContain('users.email: 1 rows, 1 re-encrypted with key k2, 0 undecryptable');
      expect(result.out.some((line: string) => line.startsWith('signing_keys.private_key: '))).toBe(true);
      const row = await storage.db.selectFrom('users').select('email').executeTakeFirstOrThrow();
      expect(createKeyringFieldCipher({ rootSecret: root, keyring: k2 }).decrypt(row.email, 'users.email:u1')).toBe('a@example.com');

      vi.stubEnv('WARDEN_ENCRYPTION_KEY', generateAesKeyEntry('k3'));
      const lost = await cli(['crypto', 'rotate']);
      expect(lost.code).toBe(1);
      expect(lost.err).toEqual(['  cannot decrypt users.email of row u1']);
    } finally {
      await storage.close();
    }
  });
});

describe('warden secrets', () => {
  it('get prints a secret, a missing one exits 1 and is named; list prints names only', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'APP_TOKEN'), 'tok-value\n');
    writeFileSync(path.join(dir, 'APP_DB'), '{"password":"pw"}');
    vi.stubEnv('WARDEN_SECRETS_PROVIDER', 'file');
    vi.stubEnv('WARDEN_SECRETS_DIR', dir);
    expect(await cli(['secrets', 'get', 'APP_TOKEN'])).toEqual({ code: 0, out: ['tok-value'], err: [] });
    expect((await cli(['secrets', 'get', 'APP_DB#password'])).out).toEqual(['pw']);
    const missing = await cli(['secrets', 'get', 'NOPE']);
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([`warden: secret NOPE was not found (tried: file:${dir}) (secret_not_found)`]);
    expect(await cli(['secrets', 'list', 'APP_'])).toEqual({ code: 0, out: ['APP_DB', 'APP_TOKEN'], err: [] });
  });
});

describe('bin/warden crypto (compiled, as a user runs it)', () => {
  it('a failed decryption exits 65 with one line, no plaintext and no stack trace', async () => {
    const key = generateAesKeyEntry('k1');
    const sealed = await runWarden(['crypto', 'encrypt', '--format', 'aes-gcm'], { env: { WARDEN_ENCRYPTION_KEY: key }, stdin: 'plaintext-marker' });
    expect(sealed.code).toBe(0);
    const opened = await runWarden(['crypto', 'decrypt', '--format', 'aes-gcm'], { env: { WARDEN_ENCRYPTION_KEY: key }, stdin: sealed.stdout });
    expect(opened.stdout).toBe('plaintext-marker\n');
    const wrong = await runWarden(['crypto', 'decrypt', '--format', 'aes-gcm'], { env: { WARDEN_ENCRYPTION_KEY: generateAesKeyEntry('k1') }, stdin: sealed.stdout });
    expect(wrong.code).toBe(65);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.trim().split('\n')).toEqual(['warden: the ciphertext failed authentication (tampered, wrong key or wrong context) (decryption_failed)']);
  });
});
