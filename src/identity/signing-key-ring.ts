import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JWK } from 'jose';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { DecryptionError } from '../crypto/decryption-error.js';
import { ConfigError, messageOf, WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import type { PrivateKeySealer } from './private-key-sealing.js';

/** The access-token algorithms Warden signs with. */
export const JWT_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One usable key: signs when active, verifies until retired. */
export interface RingKey {
  readonly kid: string;
  readonly algorithm: JwtAlgorithm;
  readonly privateKey: CryptoKey | Uint8Array;
  /** The public key (or the shared secret for HS256), derived from the sealed private key. */
  readonly verifyKey: CryptoKey | Uint8Array;
  /** Public JWK for the JWKS document, derived from the sealed private key; undefined for HS256. */
  readonly publicJwk: JWK | undefined;
  readonly createdAt: number;
  readonly supersededAt: number | null;
  readonly retireAfter: number | null;
}

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
  /** Rotations are announced here, and heard from other processes (the CLI, other instances). */
  readonly invalidation?: InvalidationBus;
  /**
   * How often the keys are re-read even without an announcement (a rotation by a process on
   * another bus, a lost message). 0 = only on announcements and unknown kids. @default 30_000
   */
  readonly reloadIntervalMs?: number;
  /**
   * Told when a background reload fails (the keys in memory stay in use) or a rotation cannot
   * be announced (other instances then pick it up at their next periodic reload).
   */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** The invalidation topic of signing-key changes. */
const TOPIC = 'signing-key';

/**
 * The JWT signing keys: the newest non-superseded key of the configured algorithm signs; every
 * key that could still have valid tokens verifies and is published in the JWKS. Rotation adds a
 * key and marks the old ones superseded with a `retire_after` one token lifetime later; after
 * that they are deleted. Other instances pick changes up at once from the rotation's
 * announcement on the invalidation bus, else at the next periodic reload or unknown kid.
 */
export class SigningKeyRing {
  private keys = new Map<string, RingKey>();
  private activeKey: RingKey | undefined;
  private readonly reportedUnreadable = new Set<string>();
  private lastLoadAt = 0;
  /** The last reload a miss asked for, and whether it failed. */
  private lastAttempt = { at: 0, failed: false };
  private loading: Promise<void> | undefined;
  private reloadAfter: Promise<void> | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SigningKeyRingOptions) {}

  /**
   * Loads the keys; creates the first key of the configured algorithm when none exists (unless
   * `createIfMissing` is false: a CLI command signs nothing and must never rotate). Refuses to
   * start when the current key has another algorithm: rotating it away here would take signing
   * from every instance configured for it.
   */
  async initialise(options: { readonly createIfMissing?: boolean } = {}): Promise<void> {
    // Strict at start: an instance whose secrets cannot open the stored keys must not start
    // (it would otherwise rotate in a key of its own and supersede everyone else's).
    await this.load({ strict: true });
    if (this.activeKey === undefined && options.createIfMissing !== false) {
      const current = this.currentAlgorithm();
      if (current !== undefined) {
        throw new ConfigError([
          `WARDEN_JWT_ALGORITHM is ${this.options.algorithm}, but the current signing key is ${current}: set WARDEN_JWT_ALGORITHM=${current}, or change the algorithm on purpose as docs/identity.md describes (warden keys rotate-signing --change-algorithm with the new value, then every instance restarted with it)`,
        ]);
      }
      await this.rotate();
    }
    // Listening starts after the strict load: a key announced later that this instance cannot
    // unseal is skipped and reported, not fatal.
    this.unsubscribe ??= this.options.invalidation?.subscribe(TOPIC, () => void this.backgroundReload());
    const interval = this.options.reloadIntervalMs ?? 30_000;
    if (interval > 0 && this.reloadTimer === undefined) {
      this.reloadTimer = setInterval(() => void this.backgroundReload(), interval);
      this.reloadTimer.unref();
    }
  }

  /** Stops the periodic reload and stops listening for rotations. */
  close(): void {
    clearInterval(this.reloadTimer);
    this.reloadTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** The algorithm of the newest key not superseded (whichever algorithm this instance is configured for); undefined when there is none. */
  currentAlgorithm(): JwtAlgorithm | undefined {
    return [...this.keys.values()].find((key) => key.supersededAt === null)?.algorithm;
  }

  /** The key that signs new tokens. */
  active(): RingKey {
    if (this.activeKey === undefined) throw new Error('the signing key ring is not initialised');
    return this.activeKey;
  }

  /**
   * The key for a kid, if it is known and not retired. Reloads (at most every 5 s, counted from
   * the last attempt, failed or not) on a miss, for keys rotated on another instance. A reload
   * that fails is a 503 `service_unavailable`, and so is every miss until the next attempt is
   * due: tokens with made-up kids must not turn a database outage into a read per request.
   */
  async find(kid: string): Promise<RingKey | undefined> {
    const found = this.usable(kid);
    if (found !== undefined) return found;
    const now = this.options.now();
    if (now - Math.max(this.lastLoadAt, this.lastAttempt.at) < 5000) {
      // A reload already running (a rotation announced a moment ago) may bring the key: the
      // rotating instance signs with it before its announcement arrives here.
      const pending = this.reloadAfter ?? this.loading;
      if (pending === undefined) {
        if (this.lastAttempt.failed) throw keysUnavailable();
        return undefined;
      }
      await pending.catch((error: unknown) => {
        throw keysUnavailable(error);
      });
      return this.usable(kid);
    }
    this.lastAttempt = { at: now, failed: false };
    try {
      await this.reload();
    } catch (error) {
      this.lastAttempt = { at: now, failed: true };
      throw keysUnavailable(error);
    }
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

  /**
   * Adds a new active key, supersedes the previous ones and deletes keys whose tokens have all
   * expired. With `retirePrevious` (a leaked key) the previous keys are deleted at once, so every
   * token they signed stops verifying. Announced on the invalidation bus.
   */
  async rotate(options: { readonly retirePrevious?: boolean } = {}): Promise<{ kid: string; superseded: string[]; retired: string[]; announced: boolean }> {
    const now = this.options.now();
    const retireAfter = options.retirePrevious === true ? now : now + this.options.retireGraceMs;
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
        .set({ superseded_at: now, retire_after: retireAfter })
        .where('superseded_at', 'is', null)
        .execute();
      // An emergency retirement also ends the keys already superseded and still in their grace.
      if (options.retirePrevious === true) await trx.updateTable('signing_keys').set({ retire_after: now }).where('retire_after', '>', now).execute();
      // Deleted once retired by both its own retire_after and this process's token lifetime (see retirementOf).
      const stillInGrace = now - this.options.retireGraceMs;
      const retiredNow = (eb: ExpressionBuilder<DatabaseSchema, 'signing_keys'>) =>
        options.retirePrevious === true ? eb('retire_after', '<=', now) : eb.and([eb('retire_after', '<=', now), eb('superseded_at', '<=', stillInGrace)]);
      const retired = await trx.selectFrom('signing_keys').select('kid').where(retiredNow).execute();
      await trx.deleteFrom('signing_keys').where(retiredNow).execute();
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
    let announced = true;
    try {
      await this.options.invalidation?.publish({ topic: TOPIC, id: kid });
    } catch (error) {
      // The rotation stands; an unannounced one still spreads by the periodic reload. The caller
      // is told: after retiring a leaked key, "everywhere at once" did not happen.
      announced = false;
      this.options.onBackgroundError?.(error);
    }
    return { kid, ...result, announced };
  }

  /**
   * Re-reads the keys from the database. One read at a time; a call during a read gets one more
   * read after it, since that read may have begun before the change the caller knows of (a
   * rotation announced, or committed by `rotate` itself).
   */
  reload(): Promise<void> {
    if (this.loading === undefined) {
      this.loading = this.load({ strict: false }).finally(() => {
        this.loading = undefined;
      });
      return this.loading;
    }
    this.reloadAfter ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.reloadAfter = undefined;
        return this.reload();
      });
    return this.reloadAfter;
  }

  /** A reload nobody waits for: a failure keeps the keys in memory and is reported. */
  private async backgroundReload(): Promise<void> {
    try {
      await this.reload();
    } catch (error) {
      this.options.onBackgroundError?.(error);
    }
  }

  /**
   * Reads the keys. Everything a key verifies with comes from its sealed private key (the
   * `public_jwk` column is not authenticated, so it is only checked against it). A key that
   * cannot be unsealed (sealed under other secrets, tampered, corrupt) stops start-up when
   * `strict`; later it is skipped and reported once, so one bad row cannot turn every token
   * check into an error: its tokens get `token_unknown_kid`.
   */
  private async load(options: { strict: boolean }): Promise<void> {
    const now = this.options.now();
    // Every row, the few past their retire_after too (deleted by the next rotation): see retirementOf.
    const rows = await this.options.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    const keys = new Map<string, RingKey>();
    let active: RingKey | undefined;
    for (const row of rows) {
      const algorithm = row.algorithm as JwtAlgorithm;
      if (!JWT_ALGORITHMS.includes(algorithm)) continue;
      const supersededAt = row.superseded_at === null ? null : Number(row.superseded_at);
      const retireAfter = this.retirementOf(supersededAt, row.retire_after === null ? null : Number(row.retire_after));
      if (retireAfter !== null && retireAfter <= now) continue;
      const previous = this.keys.get(row.kid);
      let material: KeyMaterial | undefined = previous?.algorithm === algorithm ? previous : undefined;
      if (material === undefined) {
        try {
          material = await unseal(this.options.sealer, row.kid, algorithm, row.private_key, row.public_jwk);
        } catch (error) {
          const why = unreadableKeyReason(row.kid, error);
          if (options.strict) throw new ConfigError([why]);
          if (!this.reportedUnreadable.has(row.kid)) {
            this.reportedUnreadable.add(row.kid);
            // The same explanation as at start (e.g. which WARDEN_ENCRYPTION_KEY entry is missing).
            this.options.onUnreadableKey?.(row.kid, new Error(why, { cause: error }));
          }
          continue;
        }
      }
      const { privateKey, verifyKey, publicJwk } = material;
      const key: RingKey = {
        kid: row.kid,
        algorithm,
        privateKey,
        verifyKey,
        publicJwk,
        createdAt: Number(row.created_at),
        supersededAt,
        retireAfter,
      };
      keys.set(row.kid, key);
      if (active === undefined && key.supersededAt === null && algorithm === this.options.algorithm) active = key;
    }
    // None current of this instance's algorithm (an operator switched algorithms elsewhere, or
    // the newest key cannot be unsealed here): keep signing with the key this instance had,
    // whose tokens verify until it retires, rather than failing every login and refresh.
    const kept = this.activeKey !== undefined && keys.has(this.activeKey.kid) ? keys.get(this.activeKey.kid) : undefined;
    this.keys = keys;
    this.activeKey = active ?? (options.strict ? undefined : kept);
    this.lastLoadAt = now;
    // A reload that succeeded (a periodic one, say) ends the outage a failed miss recorded.
    this.lastAttempt = { ...this.lastAttempt, failed: false };
  }

  /**
   * When a key stops verifying here. `retire_after` was set by whichever process rotated, from
   * its own token lifetime: `warden keys rotate-signing` run without the service's
   * WARDEN_ACCESS_TOKEN_TTL would otherwise retire the key while this instance's tokens signed
   * with it are still unexpired. So a superseded key verifies here until this instance's own
   * tokens from it have expired too. A key retired at once (`--retire-previous`) is deleted by
   * that rotation and never read again.
   */
  private retirementOf(supersededAt: number | null, retireAfter: number | null): number | null {
    if (retireAfter === null || supersededAt === null) return retireAfter;
    return Math.max(retireAfter, supersededAt + this.options.retireGraceMs);
  }

  private usable(kid: string): RingKey | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) return undefined;
    if (key.retireAfter !== null && key.retireAfter <= this.options.now()) return undefined;
    return key;
  }
}

type KeyMaterial = Pick<RingKey, 'privateKey' | 'verifyKey' | 'publicJwk'>;

// The private members of each key type; what is left is the public key.
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

/** Opens a stored key and derives its public half; throws when the row is unusable. */
async function unseal(
  sealer: PrivateKeySealer,
  kid: string,
  algorithm: JwtAlgorithm,
  sealed: string,
  storedPublic: string | null,
): Promise<KeyMaterial> {
  const privateJwk = parsePrivateJwk(sealer.open(sealed, kid));
  const privateKey = await importJWK(privateJwk, algorithm);
  if (algorithm === 'HS256') return { privateKey, verifyKey: privateKey, publicJwk: undefined };
  const publicJwk = Object.fromEntries(Object.entries(privateJwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK;
  const stored = storedPublic === null ? {} : (JSON.parse(storedPublic) as Record<string, unknown>);
  const mismatch = Object.entries(publicJwk).some(([name, value]) => stored[name] !== value);
  if (mismatch) throw new TypeError('public_jwk does not match the sealed private key (tampered row)');
  return { privateKey, verifyKey: await importJWK(publicJwk, algorithm), publicJwk };
}

/** The decrypted text as a JWK. JSON.parse's own message would quote the text, which is key material. */
function parsePrivateJwk(text: string): JWK {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError('the unsealed signing key is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('the unsealed signing key is not a JSON object');
  return parsed as JWK;
}

/** Why a stored key cannot be used (start-up stops on it; a reload reports it): names the key and the likely cause, never key material. */
function unreadableKeyReason(kid: string, error: unknown): string {
  const reason = messageOf(error);
  // Encrypted with a WARDEN_ENCRYPTION_KEY entry this instance lacks (unset, or a keyring
  // without it): the cipher's message names the key id to configure.
  if (error instanceof DecryptionError && error.reason === 'unknown_key') {
    return `signing key ${kid} cannot be unsealed: ${reason}. Set WARDEN_ENCRYPTION_KEY to a keyring that holds that key; every instance sharing the database must share it.`;
  }
  return `signing key ${kid} cannot be unsealed (${reason}): it was stored under a different WARDEN_SECRET_KEY or WARDEN_ENCRYPTION_KEY, or the row is corrupt. Every instance sharing the database must share those secrets.`;
}

/** The keys could not be read: no verdict on the token, and not a server error either. */
function keysUnavailable(cause?: unknown): WardenError {
  return new WardenError('service_unavailable', 'The signing keys could not be loaded; retry later', { cause, headers: { 'retry-after': '1' } });
}
