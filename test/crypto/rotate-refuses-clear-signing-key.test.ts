import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.js';
import { createKeyringFieldCipher } from '../../src/crypto/field-cipher.js';
import { rotateEncryptedColumns } from '../../src/crypto/rotate-columns.js';
import { PrivateKeySealer } from '../../src/identity/private-key-sealing.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';

const ROOT = 'root-secret-for-review-tests-0123456789-abcdefgh';

/**
 * The sealer fails closed on a private key stored in clear ("whoever can write the table,
 * without the secret, would make it a trusted signing key"). A legitimate signing_keys value is
 * always either a field-cipher envelope or root-sealed (`wsk1.`): nothing ever writes it in
 * clear. `warden crypto rotate` must therefore not take a clear value as "legacy plaintext" and
 * wrap it in a fresh envelope: afterwards the sealer can no longer tell it from a real key.
 */
describeEachDatabase('rotation refuses a signing key stored in clear', (dialect) => {
  let storage: Storage;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
  });
  afterEach(async () => {
    await storage.close();
  });

  it('reports a clear private key as undecryptable and leaves it refused by the sealer', async () => {
    const k1 = generateAesKeyEntry('k1');
    const k2 = generateAesKeyEntry('k2');
    const cipher = createKeyringFieldCipher({ rootSecret: ROOT, keyring: `${k2},${k1}` });
    const sealer = new PrivateKeySealer(cipher, ROOT);

    // An attacker with write access to the database (but no secret) plants their own key in clear.
    const { privateKey } = generateKeyPairSync('ed25519');
    const attackerJwk = JSON.stringify({
      ...privateKey.export({ format: 'jwk' }),
      kid: 'evil',
      alg: 'EdDSA',
    });
    await storage.db
      .insertInto('signing_keys')
      .values({
        kid: 'evil',
        algorithm: 'EdDSA',
        public_jwk: null,
        private_key: attackerJwk,
        created_at: 1,
        superseded_at: null,
        retire_after: null,
      })
      .execute();
    // Before rotation the sealer refuses it (fail closed).
    expect(() => sealer.open(attackerJwk, 'evil')).toThrow();

    const reports = await rotateEncryptedColumns(storage.db, cipher, ENCRYPTED_COLUMNS, { rootSecret: ROOT });
    const report = reports.find((r) => r.table === 'signing_keys');

    const row = await storage.db
      .selectFrom('signing_keys')
      .select('private_key')
      .where('kid', '=', 'evil')
      .executeTakeFirstOrThrow();
    // Still refused after an operator ran the routine key rotation…
    expect(() => sealer.open(row.private_key, 'evil')).toThrow();
    // …because rotation reported the row instead of encrypting it.
    expect(report?.failedIds).toEqual(['evil']);
    expect(report?.rotated).toBe(0);
  });
});
