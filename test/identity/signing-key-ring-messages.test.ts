import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKeyringFieldCipher, createPlaintextFieldCipher } from '../../src/crypto/field-cipher.js';
import { ConfigError } from '../../src/errors/index.js';
import { PrivateKeySealer } from '../../src/identity/private-key-sealing.js';
import { SigningKeyRing } from '../../src/identity/signing-key-ring.js';
import type { Storage } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestStorage } from '../helpers/databases.js';

// Why start-up refuses a stored signing key must point at what to fix: a key encrypted under
// WARDEN_ENCRYPTION_KEY (by the service with encryption on, or `warden crypto rotate`) read
// without it is not "stored in clear".

const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
const KEYRING = `k1:${randomBytes(32).toString('base64url')}`;

let storage: Storage;
beforeEach(async () => {
  storage = await createTestStorage('sqlite');
});
afterEach(async () => storage.close());

function ring(sealer: PrivateKeySealer, onUnreadableKey?: (kid: string, error: unknown) => void): SigningKeyRing {
  return new SigningKeyRing({
    db: storage.db,
    sealer,
    algorithm: 'EdDSA',
    retireGraceMs: 930_000,
    now: () => NOW,
    reloadIntervalMs: 0,
    ...(onUnreadableKey === undefined ? {} : { onUnreadableKey }),
  });
}

const withoutEncryption = (): PrivateKeySealer =>
  new PrivateKeySealer(createPlaintextFieldCipher(TEST_SECRET_KEY), TEST_SECRET_KEY);
const withEncryption = (keyring: string): PrivateKeySealer =>
  new PrivateKeySealer(createKeyringFieldCipher({ rootSecret: TEST_SECRET_KEY, keyring }), TEST_SECRET_KEY);

async function refusal(sealer: PrivateKeySealer): Promise<ConfigError> {
  const failure = await ring(sealer)
    .initialise()
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  expect(failure).toBeInstanceOf(ConfigError);
  return failure as ConfigError;
}

describe('a signing key that cannot be unsealed at start', () => {
  it('encrypted with WARDEN_ENCRYPTION_KEY, read without it: names the key id to configure, not "stored in clear"', async () => {
    const first = ring(withEncryption(KEYRING));
    await first.initialise();
    const kid = first.active().kid;
    first.close();

    const failure = await refusal(withoutEncryption());
    expect(failure.problems).toEqual([
      `signing key ${kid} cannot be unsealed: a stored value is encrypted with key k1 of WARDEN_ENCRYPTION_KEY, which is not set. Set WARDEN_ENCRYPTION_KEY to a keyring that holds that key; every instance sharing the database must share it.`,
    ]);
    expect(failure.message).not.toContain(KEYRING.slice(3));
  });

  it('encrypted with a key the configured keyring lacks: names that key id', async () => {
    const first = ring(withEncryption(KEYRING));
    await first.initialise();
    first.close();
    const failure = await refusal(withEncryption(`k2:${randomBytes(32).toString('base64url')}`));
    expect(failure.message).toContain('the ciphertext was made with key k1, which is not in the keyring');
  });

  it('really stored in clear (written without the secrets): still refused as such', async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    await storage.db
      .insertInto('signing_keys')
      .values({
        kid: 'planted',
        algorithm: 'EdDSA',
        public_jwk: JSON.stringify(await exportJWK(pair.publicKey)),
        private_key: JSON.stringify(await exportJWK(pair.privateKey)),
        created_at: NOW,
        superseded_at: null,
        retire_after: null,
      })
      .execute();
    const failure = await refusal(withoutEncryption());
    expect(failure.message).toContain(
      'signing key planted cannot be unsealed (signing key is not sealed (refusing a private key stored in clear))',
    );
  });
});

describe('a signing key that cannot be unsealed on a reload (another instance rotated)', () => {
  it('is reported once with the same explanation as at start: the WARDEN_ENCRYPTION_KEY entry to configure', async () => {
    const reports: { kid: string; message: string }[] = [];
    const plain = ring(withoutEncryption(), (kid, error) => reports.push({ kid, message: error instanceof Error ? error.message : String(error) }));
    await plain.initialise();
    const encrypting = ring(withEncryption(KEYRING));
    await encrypting.initialise();
    const { kid } = await encrypting.rotate();
    encrypting.close();

    await plain.reload();
    await plain.reload();
    plain.close();
    expect(reports).toEqual([
      {
        kid,
        message: `signing key ${kid} cannot be unsealed: a stored value is encrypted with key k1 of WARDEN_ENCRYPTION_KEY, which is not set. Set WARDEN_ENCRYPTION_KEY to a keyring that holds that key; every instance sharing the database must share it.`,
      },
    ]);
  });
});
