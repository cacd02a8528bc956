import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import { ConfigError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import type { PrivateKeySealer } from './private-key-sealing.js';

/** The access-token algorithms Warden signs with. */
export const JWT_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One usable key: signs when active, verifies until retired. */
export interface RingKey {
  readonly kid: string;
  readonly algorithm: JwtAlgorithm;
  /** Undefined when this instance cannot unseal it (verify-only; see `load`). */
  readonly privateKey: CryptoKey | Uint8Array | undefined;
  /** The public key (or the shared secret for HS256). */
  readonly verifyKey: CryptoKey | Uint8Array;
  /** Public JWK for the JWKS document; undefined for HS256. */
  readonly publicJwk: JWK | undefined;
  readonly createdAt: number;
  readonly supersededAt: number | null;
  readonly retireAfter: number | null;
}

/** A key this instance can sign with. */
export type SignableKey = RingKey & { readonly privateKey: CryptoKey | Uint8Array };

export interface SigningKeyRingOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly sealer: PrivateKeySealer;
  /** The configured algorithm: new keys use it, and only it verifies. */
  readonly algorithm: JwtAlgorithm;
  /** How long a superseded key stays published: the longest access-token life plus clock skew. */
  readonly retireGraceMs: number;
  readonly now: () => number;
  /** Told once per kid when a reload meets a key this instance cannot unseal (never the key itself). */
  readonly onUnreadableKey?: (kid: string, error: unknown) => void;
}

/**
 * The JWT signing keys: the newest non-superseded key of the configured algorithm signs; every
 * key that could still have valid tokens verifies and is published in the JWKS. Rotation adds a
 * key and marks the old ones superseded with a `retire_after` one token lifetime later; after
 * that they are deleted. Other instances pick changes up on reload (periodic, and on an unknown kid).
 */
export class SigningKeyRing {
  private keys = new Map<string, RingKey>();
  private activeKey: SignableKey | undefined;
  private readonly reportedUnreadable = new Set<string>();
  private lastLoadAt = 0;
  private loading: Promise<void> | undefined;

  constructor(private readonly options: SigningKeyRingOptions) {}

  /** Loads the keys; creates the first key of the configured algorithm when none exists. */
  async initialise(): Promise<void> {
    // Strict at start: an instance whose secrets cannot open the stored keys must not start
    // (it would otherwise rotate in a key of its own and supersede everyone else's).
    await this.load({ strict: true });
    if (this.activeKey === undefined) await this.rotate();
  }

  /** The key that signs new tokens. */
  active(): SignableKey {
    if (this.activeKey === undefined) throw new Error('the signing key ring is not initialised');
    return this.activeKey;
  }

  /** The key for a kid, if it is known and not retired. Reloads (at most every 5 s) on a miss, for keys rotated on another instance. */
  async find(kid: string): Promise<RingKey | undefined> {
    const found = this.usable(kid);
    if (found !== undefined) return found;
    if (this.options.now() - this.lastLoadAt < 5000) return undefined;
    await this.reload();
    return this.usable(kid);
  }

  /** The JWKS document: public keys of every non-retired asymmetric key. */
  jwks(): { keys: JWK[] } {
    const now = this.options.now();
    const keys: JWK[] = [];
    for (const key of this.keys.values()) {
      if (key.publicJwk === undefined || (key.retireAfter !== null && key.retireAfter <= now)) continue;
      keys.push({ ...key.publicJwk, kid: key.kid, alg: key.algorithm, use: 'sig' });
    }
    return { keys };
  }

  /** Adds a new active key, supersedes the previous ones and deletes keys whose tokens have all expired. */
  async rotate(): Promise<{ kid: string; superseded: string[]; retired: string[] }> {
    const now = this.options.now();
    const algorithm = this.options.algorithm;
    const kid = `${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(9).toString('base64url')}`;
    let privateJwk: JWK;
    let publicJwk: JWK | null = null;
    if (algorithm === 'HS256') {
      privateJwk = await exportJWK(await generateSecret('HS256', { extractable: true }));
    } else {
      const pair = await generateKeyPair(algorithm, { extractable: true, ...(algorithm === 'RS256' ? { modulusLength: 3072 } : {}) });
      privateJwk = await exportJWK(pair.privateKey);
      publicJwk = await exportJWK(pair.publicKey);
    }
    const result = await this.options.db.transaction().execute(async (trx) => {
      const superseded = await trx.selectFrom('signing_keys').select('kid').where('superseded_at', 'is', null).execute();
      await trx
        .updateTable('signing_keys')
        .set({ superseded_at: now, retire_after: now + this.options.retireGraceMs })
        .where('superseded_at', 'is', null)
        .execute();
      const retired = await trx.selectFrom('signing_keys').select('kid').where('retire_after', '<=', now).execute();
      await trx.deleteFrom('signing_keys').where('retire_after', '<=', now).execute();
      await trx
        .insertInto('signing_keys')
        .values({
          kid,
          algorithm,
          public_jwk: publicJwk === null ? null : JSON.stringify(publicJwk),
          private_key: this.options.sealer.seal(JSON.stringify(privateJwk), kid),
          created_at: now,
          superseded_at: null,
          retire_after: null,
        })
        .execute();
      return { superseded: superseded.map((r) => r.kid), retired: retired.map((r) => r.kid) };
    });
    await this.reload();
    return { kid, ...result };
  }

  /** Re-reads the keys from the database (single-flight). */
  reload(): Promise<void> {
    this.loading ??= this.load({ strict: false }).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Reads the keys. A key that cannot be unsealed (sealed under other secrets, or corrupt) stops
   * start-up when `strict`; later it is kept for verification only when it has a public key,
   * and reported, so one bad row cannot turn every token check into an error.
   */
  private async load(options: { strict: boolean }): Promise<void> {
    const now = this.options.now();
    const rows = await this.options.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retire_after', 'is', null), eb('retire_after', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
    const keys = new Map<string, RingKey>();
    let active: SignableKey | undefined;
    for (const row of rows) {
      const algorithm = row.algorithm as JwtAlgorithm;
      if (!JWT_ALGORITHMS.includes(algorithm)) continue;
      const previous = this.keys.get(row.kid);
      const publicJwk = row.public_jwk === null ? undefined : (JSON.parse(row.public_jwk) as JWK);
      let privateKey = previous?.privateKey;
      if (privateKey === undefined) {
        try {
          privateKey = await importJWK(JSON.parse(this.options.sealer.open(row.private_key, row.kid)) as JWK, algorithm);
        } catch (error) {
          if (options.strict) throw unreadableKeyError(row.kid, error);
          if (!this.reportedUnreadable.has(row.kid)) {
            this.reportedUnreadable.add(row.kid);
            this.options.onUnreadableKey?.(row.kid, error);
          }
          // HS256 verifies with the secret itself: without it the key is of no use here.
          if (publicJwk === undefined) continue;
        }
      }
      if (privateKey === undefined && publicJwk === undefined) continue;
      const verifyKey = previous?.verifyKey ?? (publicJwk === undefined ? (privateKey as Uint8Array | CryptoKey) : await importJWK(publicJwk, algorithm));
      const key: RingKey = {
        kid: row.kid,
        algorithm,
        privateKey,
        verifyKey,
        publicJwk,
        createdAt: Number(row.created_at),
        supersededAt: row.superseded_at === null ? null : Number(row.superseded_at),
        retireAfter: row.retire_after === null ? null : Number(row.retire_after),
      };
      keys.set(row.kid, key);
      if (active === undefined && key.supersededAt === null && algorithm === this.options.algorithm && isSignable(key)) active = key;
    }
    this.keys = keys;
    this.activeKey = active;
    this.lastLoadAt = now;
  }

  private usable(kid: string): RingKey | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) return undefined;
    if (key.retireAfter !== null && key.retireAfter <= this.options.now()) return undefined;
    return key;
  }
}

const isSignable = (key: RingKey): key is SignableKey => key.privateKey !== undefined;

/** Why start-up stops: names the key and the likely cause, never key material. */
function unreadableKeyError(kid: string, error: unknown): ConfigError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ConfigError([
    `signing key ${kid} cannot be unsealed (${reason}): it was stored under a different WARDEN_SECRET_KEY or WARDEN_ENCRYPTION_KEY, or the row is corrupt. Every instance sharing the database must share those secrets.`,
  ]);
}
