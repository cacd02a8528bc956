import { createHash, createHmac } from 'node:crypto';
import { deriveKey } from '../crypto/derive-key.js';

/**
 * The versioned server-side peppers API-key hashes are keyed with. Version 1 is always
 * derived from the root secret (HKDF label 'apikey-pepper:v1'); WARDEN_API_KEY_PEPPER adds
 * versions >= 2 as `2:<base64url, >= 32 bytes>[,3:…]`, the first entry being the active one
 * (a bare `1` names the derived version, to keep it active while a new one is rolled out).
 * Every stored hash records its version, so old hashes keep verifying and are re-hashed with
 * the active pepper on their next successful use.
 */
export interface PepperKeyring {
  readonly activeVersion: number;
  /** Every known version, active first. */
  readonly versions: readonly number[];
  /** HMAC-SHA256 of the key under the given pepper version, hex; undefined for an unknown version. */
  hash(key: string, version: number): string | undefined;
}

/** Builds the keyring from the root secret and the optional WARDEN_API_KEY_PEPPER value. */
export function createPepperKeyring(options: { secretKey: string; pepperSetting?: string | undefined }): PepperKeyring {
  const peppers = new Map<number, Buffer>([[1, deriveKey(options.secretKey, 'apikey-pepper:v1')]]);
  let activeVersion = 1;
  if (options.pepperSetting !== undefined && options.pepperSetting.trim() !== '') {
    const entries = parsePepperSetting(options.pepperSetting);
    for (const entry of entries) if (entry.key !== undefined) peppers.set(entry.version, entry.key);
    activeVersion = (entries[0] as { version: number }).version;
  }
  return {
    activeVersion,
    versions: [activeVersion, ...[...peppers.keys()].filter((v) => v !== activeVersion)],
    hash(key, version) {
      const pepper = peppers.get(version);
      return pepper === undefined ? undefined : createHmac('sha256', pepper).update(key).digest('hex');
    },
  };
}

/**
 * Parses `2:<base64url>[,3:<base64url>…]`; throws a TypeError naming the entry (never the key).
 * A bare `1` names the derived version (no key here), so that `1,2:<…>` keeps it active while
 * version 2 is rolled out to every instance before it becomes the active one.
 */
export function parsePepperSetting(raw: string): { version: number; key: Buffer | undefined }[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) throw new TypeError('WARDEN_API_KEY_PEPPER is empty');
  const seen = new Set<number>();
  return entries.map((entry, index) => {
    if (entry === '1') {
      if (seen.has(1)) throw new TypeError(`WARDEN_API_KEY_PEPPER entry ${index + 1}: version 1 appears twice`);
      seen.add(1);
      return { version: 1, key: undefined };
    }
    const match = /^(\d{1,6}):([A-Za-z0-9_-]+={0,2})$/.exec(entry);
    if (match === null) throw new TypeError(`WARDEN_API_KEY_PEPPER entry ${index + 1} is not <version>:<base64url>`);
    const version = Number(match[1]);
    if (version < 2) throw new TypeError(`WARDEN_API_KEY_PEPPER entry ${index + 1}: versions start at 2 (1 is derived from WARDEN_SECRET_KEY; write it as a bare 1)`);
    if (seen.has(version)) throw new TypeError(`WARDEN_API_KEY_PEPPER entry ${index + 1}: version ${version} appears twice`);
    seen.add(version);
    const key = Buffer.from(match[2] as string, 'base64url');
    if (key.length < 32) throw new TypeError(`WARDEN_API_KEY_PEPPER entry ${index + 1}: the pepper must be at least 32 bytes`);
    return { version, key };
  });
}

/**
 * The legacy scheme of the TTSKit guide: hex SHA-256 of a fixed salt followed by the key.
 * Only used to find and upgrade imported rows; never for new keys.
 */
export function legacySaltedSha256(salt: string, key: string): string {
  return createHash('sha256').update(salt + key).digest('hex');
}
