import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.js';
import { createKeyringFieldCipher } from '../../src/crypto/field-cipher.js';
import { rotateEncryptedColumns } from '../../src/crypto/rotate-columns.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { identityOfApp, login, seedUser } from './identity-helpers.js';

describeEachDatabase('signing keys under field encryption', (dialect) => {
  let t: TestApp;
  const keyring = `k1:${randomBytes(32).toString('base64url')}`;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
  });
  afterEach(async () => t.close());

  it('`warden crypto rotate` turns root-sealed private keys into field-cipher envelopes that still sign', async () => {
    const before = await t.context.storage.db.selectFrom('signing_keys').select(['kid', 'private_key']).executeTakeFirstOrThrow();
    expect(before.private_key.startsWith('wsk1.')).toBe(true);
    const cipher = createKeyringFieldCipher({ rootSecret: TEST_SECRET_KEY, keyring });
    await rotateEncryptedColumns(t.context.storage.db, cipher, ENCRYPTED_COLUMNS);
    const after = await t.context.storage.db.selectFrom('signing_keys').select('private_key').where('kid', '=', before.kid).executeTakeFirstOrThrow();
    expect(after.private_key.startsWith('wenc1.')).toBe(true);

    // A fresh instance with encryption on loads the key and signs with it.
    const encrypted = await createTestApp({ dialect, env: { WARDEN_ENCRYPTION_KEY: keyring, WARDEN_DATABASE_URL: t.settings.databaseUrl } });
    try {
      expect(identityOfApp(encrypted).keys.active().kid).toBe(before.kid);
      const user = await seedUser(encrypted);
      const tokens = await login(encrypted.app, user.email);
      expect((await identityOfApp(encrypted).verifier.verify(tokens.access_token)).valid).toBe(true);
    } finally {
      await encrypted.close();
    }
  });
});
