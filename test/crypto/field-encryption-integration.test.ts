import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.js';
import { createKeyringFieldCipher, isEncryptedField } from '../../src/crypto/field-cipher.js';
import { rotateEncryptedColumns } from '../../src/crypto/rotate-columns.js';
import { UserStore } from '../../src/identity/user-store.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('field encryption wired into the service', (dialect) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('encrypts users.email at rest when WARDEN_ENCRYPTION_KEY is set; lookups survive rotation and key retirement', async () => {
    const k1 = generateAesKeyEntry('k1');
    app = await createTestApp({ dialect, env: { WARDEN_ENCRYPTION_KEY: k1 } });
    const { db } = app.context.storage;
    expect(app.context.fieldCipher.enabled).toBe(true);
    const users = new UserStore(db, app.context.fieldCipher, () => 1_700_000_000_000);
    const created = await users.create({ email: 'Alice@Example.com', passwordHash: 'hash' });
    const raw = await db.selectFrom('users').select('email').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(isEncryptedField(raw.email)).toBe(true);
    expect(raw.email.toLowerCase()).not.toContain('alice');
    expect(created.email).toBe('alice@example.com');
    expect((await users.findForLogin('alice@example.com'))?.id).toBe(created.id);

    // Rotate to k2, then drop k1 entirely: the store still reads and finds the user.
    const k2 = generateAesKeyEntry('k2');
    const both = createKeyringFieldCipher({ rootSecret: TEST_SECRET_KEY, keyring: `${k2},${k1}` });
    const [report] = await rotateEncryptedColumns(db, both, ENCRYPTED_COLUMNS);
    expect(report).toMatchObject({ rotated: 1, failedIds: [] });
    const onlyK2 = new UserStore(db, createKeyringFieldCipher({ rootSecret: TEST_SECRET_KEY, keyring: k2 }), () => 1);
    expect((await onlyK2.findById(created.id))?.email).toBe('alice@example.com');
    expect((await onlyK2.findForLogin('alice@example.com'))?.id).toBe(created.id);
  });

  it('keeps the plaintext cipher (with a keyed blind index) when no keyring is set', async () => {
    app = await createTestApp({ dialect });
    expect(app.context.fieldCipher.enabled).toBe(false);
  });
});

describe('WARDEN_ENCRYPTION_KEY validation', () => {
  it('refuses a malformed keyring at load time, naming the variable but not the value', () => {
    let message = '';
    try {
      loadSettings({ env: { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_ENCRYPTION_KEY: 'k1:dG9vLXNob3J0LXNlY3JldA' }, envFile: false, generateDevSecrets: false });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('WARDEN_ENCRYPTION_KEY keyring entry 1 (k1) must decode to 32 bytes');
  });
});
