import { hashPassword, needsRehash, randomPasswordForDummyHash, verifyPassword, type Argon2Parameters } from '../crypto/password-hashing.js';
import { WardenError } from '../errors/index.js';
import { HashSemaphore } from './hash-semaphore.js';
import { checkPassword, describePasswordProblems, type PasswordPolicyOptions } from './password-policy.js';

export interface PasswordServiceOptions {
  readonly argon2: Argon2Parameters;
  readonly policy: PasswordPolicyOptions;
  readonly concurrency: number;
  readonly queueTimeoutMs: number;
}

/**
 * A hashing slot the caller holds (`PasswordService.withSlot`). Work given it runs at once
 * rather than queueing again, so nothing inside `withSlot` can time out with 503 `overloaded`.
 * Only open while its `withSlot` runs; once closed, work given it queues like any other.
 */
export interface HashingSlot {
  readonly [hashingSlotBrand]: true;
}

// Types only: a brand, so that nothing but a slot from withSlot type-checks as one.
declare const hashingSlotBrand: unique symbol;

/**
 * Policy + hashing behind the hashing semaphore. Holds a dummy argon2id hash (same
 * parameters as real ones) that logins for unknown emails verify against, so they cost what
 * a real login costs.
 */
export class PasswordService {
  private readonly semaphore: HashSemaphore;
  private dummyHash: Promise<string> | undefined;
  /** The slots of this service's semaphore whose `withSlot` is still running. */
  private readonly openSlots = new WeakSet<HashingSlot>();

  constructor(private readonly options: PasswordServiceOptions) {
    this.semaphore = new HashSemaphore({ concurrency: options.concurrency, queueTimeoutMs: options.queueTimeoutMs });
  }

  /** How many hashes or verifications may run at once; the rest queue. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Throws 400 weak_password when the policy refuses the password. */
  assertAcceptable(password: string, context: { email?: string | undefined }): void {
    const problems = checkPassword(password, context, this.options.policy);
    if (problems.length > 0) {
      throw new WardenError('weak_password', describePasswordProblems(problems, this.options.policy), { fields: { field: 'password', problems } });
    }
  }

  /**
   * Runs `work` once a hashing slot is free, holding it until `work` settles; throws 503
   * `overloaded` (without running `work`) when none frees up in time. A login takes its slot
   * before it counts its attempt, so that an attempt turned away by the queue costs nothing
   * (docs/identity.md, brute-force tiers). Inside, pass the slot to `verify`, `verifyDummy`
   * and `hash`: without it they would queue for a second slot, which a full queue can refuse,
   * and with a concurrency of 1 never get.
   */
  async withSlot<T>(work: (slot: HashingSlot) => Promise<T>): Promise<T> {
    return this.semaphore.run(async () => {
      const slot = Object.freeze({}) as HashingSlot;
      this.openSlots.add(slot);
      try {
        return await work(slot);
      } finally {
        this.openSlots.delete(slot);
      }
    });
  }

  /** Hashes the NFKC form with argon2id (policy not checked here: imports and bootstrap call assertAcceptable themselves). */
  hash(password: string, slot?: HashingSlot): Promise<string> {
    return this.inSlot(slot, () => hashPassword(normalisePassword(password), this.options.argon2));
  }

  /**
   * Verifies against a stored hash of any accepted scheme. `rehash` says that the stored hash
   * should be replaced by `hash(password)` now that the password is known: its scheme or
   * parameters are weaker than today's, or it was made from the password as typed rather than
   * its NFKC form (hashes from before normalisation, imported hashes).
   */
  async verify(stored: string, password: string, slot?: HashingSlot): Promise<PasswordVerdict> {
    // Passwords over the byte limit are never verified (bounds the work an attacker can ask for).
    if (Buffer.byteLength(password, 'utf8') > this.options.policy.maxBytes) {
      await this.verifyDummy(password, slot);
      return NO_MATCH;
    }
    const normalised = normalisePassword(password);
    if (await this.inSlot(slot, () => verifyPassword(stored, normalised))) return { matches: true, rehash: this.needsRehash(stored) };
    // Only a password that NFKC changes costs a second verification.
    if (normalised !== password && (await this.inSlot(slot, () => verifyPassword(stored, password)))) return { matches: true, rehash: true };
    return NO_MATCH;
  }

  /**
   * Spends what a failed `verify` of this password would (unknown user) on a hash that matches
   * nothing: two verifications for a password NFKC changes, as verify then tries both forms,
   * or the time would tell a known email from an unknown one.
   */
  async verifyDummy(password: string, slot?: HashingSlot): Promise<void> {
    // A failed creation is not kept: every later unknown email would answer 500 where a known
    // one answers 401, telling them apart until a restart.
    this.dummyHash ??= hashPassword(randomPasswordForDummyHash(), this.options.argon2).catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    const dummy = await this.dummyHash;
    const bounded = password.slice(0, 1024);
    const normalised = normalisePassword(bounded);
    await this.inSlot(slot, () => verifyPassword(dummy, normalised));
    if (normalised !== bounded) await this.inSlot(slot, () => verifyPassword(dummy, bounded));
  }

  /** Runs hashing work in the caller's open slot, or else in one of its own from the semaphore. */
  private inSlot<T>(slot: HashingSlot | undefined, work: () => Promise<T>): Promise<T> {
    return slot !== undefined && this.openSlots.has(slot) ? work() : this.semaphore.run(work);
  }

  /** True when a stored hash should be replaced by a fresh argon2id hash. */
  private needsRehash(stored: string): boolean {
    return needsRehash(stored, this.options.argon2);
  }
}

/** The outcome of PasswordService.verify. */
export interface PasswordVerdict {
  readonly matches: boolean;
  /** The password matched and its stored hash should be replaced by a fresh one. */
  readonly rehash: boolean;
}

const NO_MATCH: PasswordVerdict = Object.freeze({ matches: false, rehash: false });

/**
 * The form of a password that is hashed: NFKC, as NIST SP 800-63B asks, so the same
 * password typed on keyboards or systems that compose characters differently (`é` as one
 * code point or as `e` + U+0301, a full-width digit) verifies.
 */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}
