import { hash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { anyCovers } from '../authz/permission-match.js';
import { cacheMaxAge, isFresh } from '../cache/cache-max-age.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import type { RateLimitService } from '../ratelimit/rate-limit-service.js';
import type { DatabaseSchema } from '../storage/index.js';
import { anyLookupHashKey, findByLookupHash, findByPrefix, isRevoked, type ApiKeyRecord, type VerificationCandidate } from './api-key-store.js';
import { importedPrefix, importFingerprint } from './key-import.js';
import { looksLikeWardenKey, parseApiKey } from './key-format.js';
import { legacySaltedSha256, type PepperKeyring } from './pepper-keyring.js';
import type { UsageTracker } from './usage-tracker.js';
import { sharedLoad } from '../cache/shared-load.js';

/** Why a key was refused, in the order the checks run (see docs/api-keys.md). */
export const VERIFICATION_CODES = ['malformed', 'not_found', 'revoked', 'expired', 'disabled', 'insufficient_permissions', 'rate_limited'] as const;
export type VerificationCode = (typeof VERIFICATION_CODES)[number];

/** The per-key limit's state after this verification (undefined when the key has no limit). */
export interface KeyRateLimitState {
  readonly limit: number;
  readonly remaining: number;
  readonly reset_ms: number;
  readonly retry_after_ms: number;
}

/** The outcome of one verification. Denials are values, not exceptions. */
export type VerificationResult =
  | { readonly valid: true; readonly key: ApiKeyRecord; readonly ratelimit: KeyRateLimitState | undefined }
  | {
      readonly valid: false;
      readonly code: VerificationCode;
      /** Present once the key was identified (every code but malformed and not_found). */
      readonly key?: ApiKeyRecord;
      readonly ratelimit?: KeyRateLimitState | undefined;
    };

export interface VerifyOptions {
  /** Permissions the caller needs; every one must be covered by the key. */
  readonly permissions?: readonly string[];
  /** Client address recorded as the key's last-used IP. */
  readonly ip?: string | undefined;
  /**
   * Whether the key's owner still holds a requested permission (as a guarded route checks a
   * key). Asked for each of `permissions` after the key's own checks and before the rate limit
   * and usage are spent, so a refusal spends neither; false is `insufficient_permissions`.
   */
  readonly ownerHolds?: (key: ApiKeyRecord, permission: string) => boolean | Promise<boolean>;
}

export interface ApiKeyVerifierOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly keyring: PepperKeyring;
  readonly usage: UsageTracker;
  readonly rateLimits?: RateLimitService | undefined;
  readonly invalidation?: InvalidationBus | undefined;
  /** Salt of imported legacy SHA-256 hashes; unset = no legacy hashes accepted. */
  readonly legacySalt?: string | undefined;
  /** Longest life of a cache entry (positive or negative). 0 disables the cache. @default 1000 */
  readonly cacheTtlMs?: number;
  /** Entries the cache holds at most. @default 10_000 */
  readonly cacheMaxEntries?: number;
  /**
   * How long the answer to "does any imported (lookup-hash) key exist?" is trusted before it
   * is read again. Bounds how late an import by another process without a shared bus becomes
   * visible to an instance that had seen none. @default 30_000
   */
  readonly importedKeysRecheckMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onBackgroundError?: (error: unknown) => void;
}

type CacheEntry = { readonly cachedAt: number; readonly candidate: VerificationCandidate | undefined };

/**
 * Whether a change to key `keyId` may change what a cached entry answers: its own row, and any
 * imported key's. One secret imported twice (plain, then as the old store's hash dump) is two
 * rows, and the cache holds the one `find` chose: a revoke or disable of the other copy must
 * drop it too. Imported keys and changes to keys are both rare, so dropping every imported
 * entry costs a few reads, not a hot path.
 */
function changedWith(candidate: VerificationCandidate | undefined, keyId: string): boolean {
  return candidate !== undefined && (candidate.record.id === keyId || candidate.record.environment === 'imported');
}
type ImportedKeysState = { readonly present: boolean; readonly checkedAt: number };

// Keys that are not in Warden's format (imported ones) are accepted if they look like a token.
const MAX_PRESENTED_LENGTH = 512;
const LEGACY_KEY = /^[\x21-\x7e]{16,512}$/;

/**
 * Verifies API keys: format and checksum first (no I/O), then an in-process cache (bounded
 * LRU, positive and negative entries, at most `cacheTtlMs` old, dropped at once on a revoke
 * heard on the invalidation bus), then the database. The cache is keyed by the SHA-256 of
 * the key, never by the key itself. State checks (revoked, expired,
 * disabled) run on every call, cached or not, against the current clock.
 *
 * A value not in `wdn_` format can only match an imported key. Whether any exist is one
 * cached flag (read lazily, re-read every `importedKeysRecheckMs`, set at once by an import
 * heard on the bus or by `clear()`), so while there are none such values cost no query.
 */
export class ApiKeyVerifier {
  private readonly cache: LRUCache<string, CacheEntry>;
  private readonly inFlight = new Map<string, Promise<VerificationCandidate | undefined>>();
  // Keyed by (limit, window): creators choose these, so the set is bounded rather than left to
  // grow. A limiter holds no counts (the store keeps them by policy name), so one forgotten and
  // made again counts on where it left off.
  private readonly limiters = new LRUCache<string, RateLimiter>({ max: 1024 });
  private readonly ttlMs: number;
  private readonly maxAge: () => number;
  private readonly now: () => number;
  private readonly unsubscribe: (() => void)[] = [];
  // Bumped on every invalidation: a load that started before one is not cached, so a
  // lookup racing a revocation cannot put the pre-revocation row back into the cache.
  private generation = 0;
  private readonly importedRecheckMs: number;
  private importedKeys: ImportedKeysState | undefined;
  private importedCheck: Promise<boolean> | undefined;
  // Bumped whenever keys may have been imported: a check that started before cannot store "none".
  private importedGeneration = 0;

  constructor(private readonly options: ApiKeyVerifierOptions) {
    this.ttlMs = options.cacheTtlMs ?? 1000;
    this.maxAge = cacheMaxAge(options.invalidation, this.ttlMs);
    this.importedRecheckMs = options.importedKeysRecheckMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.cache = new LRUCache({ max: options.cacheMaxEntries ?? 10_000 });
    const bus = options.invalidation;
    if (bus !== undefined) {
      this.unsubscribe.push(
        bus.subscribe('apikey', (message) => {
          // '*' is what an import publishes (key-import.ts): keys may now exist that the flag says do not.
          if (message.id === '*') this.noteImport();
          this.forget((c) => message.id === '*' || changedWith(c, message.id));
        }),
      );
      this.unsubscribe.push(bus.subscribe('user', (message) => this.forget((c) => message.id === '*' || c?.record.ownerId === message.id)));
    }
  }

  /** Verifies a presented key; see VERIFICATION_CODES for the order of the checks. */
  async verify(presented: string, options: VerifyOptions = {}): Promise<VerificationResult> {
    if (presented.length > MAX_PRESENTED_LENGTH) return { valid: false, code: 'malformed' };
    // The cache first: a hit means these exact bytes passed the format checks before (only
    // well-formed keys are ever looked up, hence cached), so the checksum is not recomputed.
    const cacheKey = this.ttlMs === 0 ? undefined : hash('sha256', presented, 'base64url');
    const cached = cacheKey === undefined ? undefined : this.fresh(cacheKey);
    let candidate: VerificationCandidate | undefined;
    if (cached !== undefined) candidate = cached.candidate;
    else {
      const wardenFormat = looksLikeWardenKey(presented);
      const parsed = wardenFormat ? parseApiKey(presented) : undefined;
      if (wardenFormat ? parsed === undefined : !LEGACY_KEY.test(presented)) return { valid: false, code: 'malformed' };
      if (!wardenFormat && !(await this.importedKeysMayExist())) return { valid: false, code: 'not_found' };
      candidate = await this.lookup(presented, parsed?.prefix, cacheKey);
    }
    if (candidate === undefined) return { valid: false, code: 'not_found' };
    const key = candidate.record;
    const now = this.now();
    const refusal = this.refusal(candidate, options, now);
    if (refusal !== undefined) return refusal;
    if (options.ownerHolds !== undefined) {
      for (const permission of options.permissions ?? []) {
        const held = options.ownerHolds(key, permission);
        if (!(typeof held === 'boolean' ? held : await held)) return { valid: false, code: 'insufficient_permissions', key };
      }
    }
    let ratelimit: KeyRateLimitState | undefined;
    if (key.rateLimit !== undefined && this.options.rateLimits !== undefined) {
      const decision = await this.limiterFor(key.rateLimit).limit(`apikey:${key.id}`);
      ratelimit = { limit: decision.limit, remaining: decision.remaining, reset_ms: decision.reset_ms, retry_after_ms: decision.retry_after_ms };
      if (!decision.allowed) return { valid: false, code: 'rate_limited', key, ratelimit };
    }
    this.options.usage.record(key.id, now, options.ip);
    return { valid: true, key, ratelimit };
  }

  /**
   * The answer verify() would give, synchronously, when this process's cache alone can give
   * it; undefined when it cannot (a miss, the cache off, or a key with its own rate limit),
   * and the caller then awaits verify(). Lets a hot path skip a promise per request.
   */
  verifyCached(presented: string, options: VerifyOptions = {}): VerificationResult | undefined {
    if (presented.length > MAX_PRESENTED_LENGTH) return { valid: false, code: 'malformed' };
    if (this.ttlMs === 0) return undefined;
    const cached = this.fresh(hash('sha256', presented, 'base64url'));
    if (cached === undefined) return undefined;
    const candidate = cached.candidate;
    if (candidate === undefined) return { valid: false, code: 'not_found' };
    const now = this.now();
    const refusal = this.refusal(candidate, options, now);
    if (refusal !== undefined) return refusal;
    if (options.ownerHolds !== undefined) {
      for (const permission of options.permissions ?? []) {
        const held = options.ownerHolds(candidate.record, permission);
        if (typeof held !== 'boolean') {
          // Not answerable synchronously: verify() asks again, and answers for a failure. This
          // promise is dropped, so its rejection must not go unhandled (that ends the process).
          held.catch(() => undefined);
          return undefined;
        }
        if (!held) return { valid: false, code: 'insufficient_permissions', key: candidate.record };
      }
    }
    if (candidate.record.rateLimit !== undefined && this.options.rateLimits !== undefined) return undefined;
    this.options.usage.record(candidate.record.id, now, options.ip);
    return { valid: true, key: candidate.record, ratelimit: undefined };
  }

  /**
   * The stored key these exact bytes are, whatever its state (revoked, expired, disabled, its
   * owner deactivated, over its rate limit), or undefined when they are no key. Not a use of
   * the key, unlike verify(): no usage or last-used record, no rate-limit token, no hash
   * upgrade. It reads the database, not the cache, so the caller (a revocation) sees the row as stored.
   */
  async identify(presented: string): Promise<ApiKeyRecord | undefined> {
    if (presented.length > MAX_PRESENTED_LENGTH) return undefined;
    const wardenFormat = looksLikeWardenKey(presented);
    const parsed = wardenFormat ? parseApiKey(presented) : undefined;
    if (wardenFormat ? parsed === undefined : !LEGACY_KEY.test(presented)) return undefined;
    if (!wardenFormat && !(await this.importedKeysMayExist())) return undefined;
    return (await this.find(presented, parsed?.prefix))?.record;
  }

  /** Drops every cached entry of a key in this process (the bus does this for revocations). */
  forgetKey(keyId: string): void {
    this.forget((c) => changedWith(c, keyId));
  }

  /** Drops the whole cache (after an import, which may turn a cached "not found" into a key). */
  clear(): void {
    this.noteImport();
    this.generation += 1;
    this.cache.clear();
    this.inFlight.clear();
  }

  /** Stops listening to the invalidation bus. */
  close(): void {
    for (const off of this.unsubscribe) off();
  }

  /** Records that keys may have been imported: assume some exist until the next re-check. */
  private noteImport(): void {
    this.importedGeneration += 1;
    this.importedKeys = { present: true, checkedAt: this.now() };
    // A check already running may predate the import: later callers must not join it.
    this.importedCheck = undefined;
  }

  /** The refusal for a found key's state or the permissions asked for, checked against `now`; undefined = none. */
  private refusal(candidate: VerificationCandidate, options: VerifyOptions, now: number): VerificationResult | undefined {
    const key = candidate.record;
    if (isRevoked(key, now)) return { valid: false, code: 'revoked', key };
    if (key.expiresAt !== undefined && key.expiresAt <= now) return { valid: false, code: 'expired', key };
    if (!key.enabled || !candidate.ownerActive) return { valid: false, code: 'disabled', key };
    for (const permission of options.permissions ?? []) {
      if (!anyCovers(key.permissions, permission)) return { valid: false, code: 'insufficient_permissions', key };
    }
    return undefined;
  }

  /** Whether a lookup-hash key may exist; at most one query per re-check interval, shared by concurrent callers. */
  private importedKeysMayExist(): boolean | Promise<boolean> {
    const known = this.importedKeys;
    if (known !== undefined && this.now() - known.checkedAt < this.importedRecheckMs) return known.present;
    if (this.importedCheck !== undefined) return this.importedCheck;
    const generation = this.importedGeneration;
    const checkedAt = this.now();
    const check: Promise<boolean> = anyLookupHashKey(this.options.db)
      .then((present) => {
        // An import heard meanwhile may have committed after the query read: it wins.
        if (generation !== this.importedGeneration) return true;
        this.importedKeys = { present, checkedAt };
        return present;
      })
      .finally(() => {
        if (this.importedCheck === check) this.importedCheck = undefined;
      });
    this.importedCheck = check;
    return check;
  }

  private forget(matches: (candidate: VerificationCandidate | undefined) => boolean): void {
    this.generation += 1;
    // A load already running may have read the key before the change: later callers must not
    // join it (they would be answered from the old row), so they start their own.
    this.inFlight.clear();
    for (const [cacheKey, entry] of this.cache.entries()) {
      // Negative entries are dropped on '*' only (matches(undefined) is true only then).
      if (matches(entry.candidate)) this.cache.delete(cacheKey);
    }
  }

  /** The cache entry of a key digest, if it is younger than the TTL (positive or negative; see cacheMaxAge). */
  private fresh(cacheKey: string): CacheEntry | undefined {
    const cached = this.cache.get(cacheKey);
    return cached !== undefined && isFresh(cached.cachedAt, this.now(), this.maxAge()) ? cached : undefined;
  }

  /** Loads a key missing from the cache; concurrent misses for one key share one load. */
  private async lookup(presented: string, prefix: string | undefined, cacheKey: string | undefined): Promise<VerificationCandidate | undefined> {
    // The digest is a one-shot SHA-256 (about a third of an HMAC's cost): the cache lives only
    // in this process's memory, and the digest of a 262-bit random key reveals nothing usable.
    if (cacheKey === undefined) return this.load(presented, prefix);
    return sharedLoad(this.inFlight, cacheKey, async () => {
      const loadedAt = this.now();
      const generation = this.generation;
      const candidate = await this.load(presented, prefix);
      if (generation === this.generation) this.cache.set(cacheKey, { cachedAt: loadedAt, candidate });
      return candidate;
    });
  }

  private async load(presented: string, prefix: string | undefined): Promise<VerificationCandidate | undefined> {
    const found = await this.find(presented, prefix);
    return found === undefined ? undefined : this.upgradeIfNeeded(presented, found);
  }

  /** The stored row these exact bytes hash to, under its own pepper version or scheme; no writes. */
  private async find(presented: string, prefix: string | undefined): Promise<VerificationCandidate | undefined> {
    const { keyring, db } = this.options;
    if (prefix !== undefined) {
      for (const candidate of await findByPrefix(db, prefix)) {
        const expected = keyring.hash(presented, candidate.record.pepperVersion);
        if (expected !== undefined && constantTimeEqual(expected, candidate.record.keyHash)) return candidate;
      }
      return undefined;
    }
    const hmacs = keyring.versions.map((v) => ({ version: v, hash: keyring.hash(presented, v) as string }));
    const legacy = this.options.legacySalt === undefined ? undefined : legacySaltedSha256(this.options.legacySalt, presented);
    const hashes = [...hmacs.map((h) => h.hash), ...(legacy === undefined ? [] : [legacy])];
    const matches = (await findByLookupHash(db, hashes)).filter(({ record }) => {
      const expected = record.hashScheme === 'legacy-sha256' ? legacy : hmacs.find((h) => h.version === record.pepperVersion)?.hash;
      return expected !== undefined && constantTimeEqual(expected, record.keyHash);
    });
    // One secret imported twice (plain, then as the old store's hash dump): the row that refuses
    // it answers, so a revoke or disable of either copy holds for the secret.
    const now = this.now();
    const restriction = ({ record }: VerificationCandidate): number => (isRevoked(record, now) ? 0 : !record.enabled ? 1 : 2);
    return matches.sort((a, b) => restriction(a) - restriction(b))[0];
  }

  /**
   * Re-hashes a key stored under a legacy scheme or an older pepper with the active pepper,
   * on its first successful match. The write happens before the answer so a crash cannot
   * leave a key both upgraded and not; a failed write only means it is tried again next time.
   */
  private async upgradeIfNeeded(presented: string, candidate: VerificationCandidate): Promise<VerificationCandidate> {
    const { keyring, db } = this.options;
    const record = candidate.record;
    if (record.hashScheme === 'hmac-sha256' && record.pepperVersion === keyring.activeVersion) return candidate;
    const keyHash = keyring.hash(presented, keyring.activeVersion) as string;
    const imported = record.environment === 'imported';
    const prefix = imported && record.prefix === '' ? importedPrefix(presented) : record.prefix;
    // The legacy hash is about to be overwritten; a row imported before fingerprints existed
    // keeps it as its fingerprint, or a re-run import would no longer recognise the key.
    const fingerprint =
      record.hashScheme === 'legacy-sha256' ? importFingerprint(keyring, keyring.activeVersion, { sha256: record.keyHash }) : undefined;
    try {
      await db
        .updateTable('api_keys')
        .set((eb) => ({
          key_hash: keyHash,
          hash_scheme: 'hmac-sha256',
          pepper_version: keyring.activeVersion,
          lookup_hash: imported ? keyHash : null,
          prefix,
          updated_at: this.now(),
          ...(fingerprint === undefined ? {} : { import_fingerprint: eb.fn.coalesce('import_fingerprint', eb.val(fingerprint)) }),
        }))
        .where('id', '=', record.id)
        .where('key_hash', '=', record.keyHash)
        .execute();
    } catch (error) {
      this.options.onBackgroundError?.(error);
      return candidate;
    }
    return {
      ownerActive: candidate.ownerActive,
      record: { ...record, keyHash, hashScheme: 'hmac-sha256', pepperVersion: keyring.activeVersion, prefix },
    };
  }

  private limiterFor(rateLimit: { limit: number; windowMs: number }): RateLimiter {
    const name = `apikey:${rateLimit.limit}:${rateLimit.windowMs}`;
    let limiter = this.limiters.get(name);
    if (limiter === undefined) {
      limiter = (this.options.rateLimits as RateLimitService).limiter({ name, limit: rateLimit.limit, windowMs: rateLimit.windowMs });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}
