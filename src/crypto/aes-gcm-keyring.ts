import { randomBytes } from 'node:crypto';

/** One AES-256 key with its stable identifier (written into every envelope it seals). */
export interface AesKey {
  readonly id: string;
  readonly key: Buffer;
}

/**
 * Keys for AES-256-GCM envelopes: exactly one active key (encrypts and decrypts) and any number
 * of decrypt-only keys kept so that old ciphertexts stay readable until `warden crypto rotate`
 * has re-encrypted them.
 */
export interface AesKeyring {
  readonly active: AesKey;
  /** Every key by id, the active one included. */
  readonly byId: ReadonlyMap<string, AesKey>;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const KEY_BYTES = 32;

/** Builds a keyring; the first key is the active one. Throws TypeError on misuse. */
export function createAesKeyring(keys: readonly AesKey[]): AesKeyring {
  const [active] = keys;
  if (active === undefined) throw new TypeError('a keyring needs at least one key');
  const byId = new Map<string, AesKey>();
  for (const k of keys) {
    if (!KEY_ID.test(k.id)) throw new TypeError('a key id must be 1-32 characters of A-Z a-z 0-9 _ -');
    if (k.key.length !== KEY_BYTES) throw new TypeError(`key ${k.id} must be ${KEY_BYTES} bytes, got ${k.key.length}`);
    if (byId.has(k.id)) throw new TypeError(`key id ${k.id} appears twice in the keyring`);
    byId.set(k.id, Object.freeze({ id: k.id, key: Buffer.from(k.key) }));
  }
  return Object.freeze({ active: byId.get(active.id) as AesKey, byId });
}

/**
 * Parses the keyring text format of WARDEN_ENCRYPTION_KEY: comma-separated `id:key` entries,
 * key = 32 bytes in base64url (or base64); the first entry is active, the rest decrypt-only.
 * e.g. `k2:3q2-7w…,k1:AAEC…`. Error messages name the entry, never the key.
 */
export function parseAesKeyring(text: string): AesKeyring {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new TypeError('the encryption keyring is empty (expected id:base64url-key[,id:key…])');
  const keys = entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new TypeError(`keyring entry ${index + 1} is not of the form id:base64url-key`);
    const id = entry.slice(0, colon);
    const encoded = entry.slice(colon + 1);
    // Checked first and never echoed when invalid: a reversed "key:id" entry must not print the key.
    if (!KEY_ID.test(id)) throw new TypeError(`keyring entry ${index + 1} has an invalid key id (1-32 characters of A-Z a-z 0-9 _ -)`);
    if (!/^[A-Za-z0-9_+/=-]+$/.test(encoded)) throw new TypeError(`keyring entry ${index + 1} (${id}) is not base64url`);
    const key = Buffer.from(encoded, 'base64url');
    if (key.length !== KEY_BYTES) throw new TypeError(`keyring entry ${index + 1} (${id}) must decode to ${KEY_BYTES} bytes`);
    return { id, key };
  });
  return createAesKeyring(keys);
}

/** Renders a keyring in the WARDEN_ENCRYPTION_KEY format (active key first). */
export function formatAesKeyring(keyring: AesKeyring): string {
  const rest = [...keyring.byId.values()].filter((k) => k.id !== keyring.active.id);
  return [keyring.active, ...rest].map((k) => `${k.id}:${k.key.toString('base64url')}`).join(',');
}

/** A fresh random AES-256 key entry (`id:key`), for `warden crypto keygen --format aes-gcm`. */
export function generateAesKeyEntry(id: string = `k${randomBytes(4).toString('hex')}`): string {
  if (!KEY_ID.test(id)) throw new TypeError('key id must be 1-32 characters of A-Z a-z 0-9 _ -');
  return `${id}:${randomBytes(KEY_BYTES).toString('base64url')}`;
}
