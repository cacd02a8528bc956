import { randomUUID } from 'node:crypto';
import { domainToASCII, domainToUnicode } from 'node:url';
import type { Kysely, Transaction } from 'kysely';
import type { FieldCipher } from '../crypto/field-cipher.js';
import { ValidationError, WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import type { UsersTable } from './user-tables.js';

/** A user as the rest of Warden sees it (never the password hash). */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly isActive: boolean;
  readonly isAdmin: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly passwordChangedAt: number;
}

/** Runs inside a user write's transaction before the write; throwing refuses the write (nothing changes). */
export type WriteGuard = (trx: Transaction<DatabaseSchema>) => Promise<void>;

/** A user with the stored password hash, for login only. */
export interface UserWithHash extends User {
  readonly passwordHash: string;
}

// A local part, then a domain of at least two labels, none of them empty (`a@b..c` is no address).
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;
const EMAIL_PURPOSE = 'users.email';

// Control, format (zero-width, bidi overrides, soft hyphen), line/paragraph separators, every
// default-ignorable code point (Hangul fillers, variation selectors, U+034F, Khmer inherent
// vowels) and the braille blank U+2800; and a combining mark opening the local part or a domain
// label, where it has nothing to combine with: an address containing one renders exactly like
// another address and would be a second account.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]|(?:^|[@.])\p{M}/u;

/**
 * The one canonical form of an email, used for storage, the blind index and login alike: NFKC
 * (so a full-width 'ａ' or a decomposed 'é' cannot make a look-alike second account), trimmed,
 * lower-cased, and NFKC again (lower-casing can leave a non-normalised sequence); a punycode
 * domain becomes its Unicode form, and a domain's trailing dot is dropped. The local part's
 * 'ß' is not folded to 'ss': those are different mailboxes.
 */
export function canonicalEmail(raw: string): string {
  let folded = raw.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
  const at = folded.lastIndexOf('@');
  if (at >= 0) {
    // U+3002 separates domain labels as '.' does (IDNA; NFKC already made U+FF0E a '.' and
    // U+FF61 a U+3002): `example。com` is the same mailbox as `example.com`.
    let domain = folded.slice(at + 1).replace(/\u3002/g, '.');
    // An internationalised domain spelled in its ASCII (punycode) form is the same mailbox as
    // the Unicode spelling: one account, not two. Punycode that does not decode to a domain
    // spelling the same ASCII is left as written (decoding it again would change it again).
    if (domain.includes('xn--')) {
      const unicode = domainToUnicode(domain);
      // Lower-cased again: UTS #46 maps some scripts to upper case (Cherokee), and the form
      // stored must be the one a second pass leaves as it is.
      if (unicode !== '' && domainToASCII(unicode) === domain) domain = unicode.toLowerCase().normalize('NFKC');
    }
    folded = `${folded.slice(0, at + 1)}${domain}`;
  }
  // `example.com.` is the fully qualified spelling of `example.com`: the same mailbox. Last, so
  // that a dot the mappings above produced goes too, and canonicalising twice changes nothing.
  // Trimmed again (`jo@example.com .` leaves a space before the dropped dot), which may uncover
  // another single dot (`a. .`).
  while (folded.endsWith('.') && !folded.endsWith('..')) folded = folded.slice(0, -1).trimEnd();
  return folded;
}

/**
 * Canonicalises an email for a new or changed account; throws ValidationError when it is not
 * a plausible address or when it could pass for another one (see lookAlikeReason).
 */
export function normaliseEmail(raw: string): string {
  const email = canonicalEmail(raw);
  if (email.length > 254) throw new ValidationError('email must be at most 254 characters', { field: 'email' });
  if (!EMAIL_PATTERN.test(email) || INVISIBLE.test(email)) throw new ValidationError('email must be a valid email address', { field: 'email' });
  const reason = lookAlikeReason(email);
  if (reason !== undefined) throw new ValidationError(`email ${reason}`, { field: 'email' });
  return email;
}

const LATIN = /\p{Script=Latin}/u;
// A letter of any other script beside Latin ones in a part (UTS #39's single-script rule): many
// scripts hold look-alikes of Latin letters (Cyrillic 'а', Greek 'ο', Coptic 'ⲟ', …).
const NON_LATIN_LETTER = /(?![\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}])\p{L}/u;
// Latin-script letters that render as plain ones and that NFKC does not fold (UTS #39's
// confusables with an ASCII target): script g and alpha (ɡ, ɑ), dotless iota and j (ɩ, ȷ), the
// clicks (ǀ ǁ ǂ ǃ) and small capitals (ɪ ʀ ʏ ɢ ɴ ʙ ʜ ʟ, ᴀ…ᴢ, ꜱ). Letters of living alphabets
// that look like no plain letter (ɔ ɛ ʋ ɓ ɗ ŋ) stay allowed.
const LATIN_LOOKALIKE_LETTERS = /[\u01C0-\u01C3\u0237\u0251\u0261\u0262\u0269\u026A\u0274\u0280\u028F\u0299\u029C\u029F\u1D00-\u1D22\uA731]/u;
// A mark left on a Latin letter after NFC has no precomposed form: `İ` lower-cases to `i` + U+0307.
const MARK_ON_LATIN = /\p{Script=Latin}\p{M}/u;

/**
 * Why an address could be mistaken for another in an admin view or an audit log, or
 * undefined. Canonical forms already merge case, width and decomposition; these are the
 * spellings that stay distinct yet render alike: a quoted local part (`"jo"@…` beside
 * `jo@…`), a part mixing Latin letters with those of another script, a Latin letter that
 * renders as a plain one, and a combining mark on a Latin letter. An address wholly in one
 * other script is allowed (it can still resemble a Latin one; telling those apart needs
 * Unicode's confusable tables).
 */
function lookAlikeReason(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  if (email.slice(0, at).includes('"')) return 'must not have a quoted local part';
  for (const part of [email.slice(0, at), ...email.slice(at + 1).split('.')]) {
    if (LATIN.test(part) && NON_LATIN_LETTER.test(part)) {
      return 'must not mix Latin letters with letters of another script in one part (many include look-alikes of Latin letters)';
    }
  }
  if (LATIN_LOOKALIKE_LETTERS.test(email)) return 'must not use letters that render like plain Latin ones (ɡ, ɑ, ǀ, small capitals such as ᴏ)';
  if (MARK_ON_LATIN.test(email)) return 'must not put a combining mark on a Latin letter that has no precomposed form';
  return undefined;
}

/** Users in the database; emails are encrypted with the field cipher and found through the blind index. */
export class UserStore {
  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly cipher: FieldCipher,
    private readonly now: () => number,
  ) {}

  /** The keyed blind index of a normalised email (also what the audit log records for unknown emails). */
  emailLookup(normalisedEmail: string): string {
    return this.cipher.blindIndex(normalisedEmail, EMAIL_PURPOSE);
  }

  /** Inserts a user; 409 email_taken when the email exists. */
  async create(input: { email: string; passwordHash: string; name?: string | null; isAdmin?: boolean; isActive?: boolean }): Promise<User> {
    const email = normaliseEmail(input.email);
    const id = randomUUID();
    const now = this.now();
    const row: UsersTable = {
      id,
      email: this.cipher.encrypt(email, `${EMAIL_PURPOSE}:${id}`),
      email_lookup: this.emailLookup(email),
      name: input.name ?? null,
      password_hash: input.passwordHash,
      is_active: input.isActive === false ? 0 : 1,
      is_admin: input.isAdmin === true ? 1 : 0,
      created_at: now,
      updated_at: now,
      password_changed_at: now,
    };
    const existing = await this.db.selectFrom('users').select('id').where('email_lookup', '=', row.email_lookup).executeTakeFirst();
    if (existing !== undefined) throw new WardenError('email_taken', 'A user with this email already exists');
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (error) {
      // A concurrent insert of the same email loses on the unique index.
      const again = await this.db.selectFrom('users').select('id').where('email_lookup', '=', row.email_lookup).executeTakeFirst();
      if (again !== undefined) throw new WardenError('email_taken', 'A user with this email already exists');
      throw error;
    }
    return this.toUser(row);
  }

  async findById(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : this.toUser(row);
  }

  /** Looks a user up by (raw) email through the blind index, with the hash, for login. */
  async findForLogin(normalisedEmail: string): Promise<UserWithHash | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email_lookup', '=', this.emailLookup(normalisedEmail)).executeTakeFirst();
    return row === undefined ? undefined : { ...this.toUser(row), passwordHash: row.password_hash };
  }

  /** The stored password hash of a user (password change checks the current password). */
  async passwordHashOf(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirst();
    return row?.password_hash;
  }

  /** Users ordered by (created_at, id); `after` is the cursor from the previous page. */
  async list(options: { limit: number; after?: { createdAt: number; id: string } | undefined }): Promise<User[]> {
    let query = this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').limit(options.limit);
    const after = options.after;
    if (after !== undefined) {
      query = query.where((eb) =>
        eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]),
      );
    }
    const rows = await query.execute();
    return rows.map((row) => this.toUser(row));
  }

  /**
   * Updates the given fields; returns the user as it was just before and just after this write,
   * or undefined when it does not exist. Both are read in the write's transaction, with the row
   * locked first, so a concurrent change of the same user lands wholly before or after: what
   * the caller audits and revokes on is this write's own difference.
   */
  async update(
    id: string,
    changes: { name?: string | null; isActive?: boolean; isAdmin?: boolean },
    guard?: WriteGuard,
    /** Runs on the user as it is under the lock, before the write; throwing rolls the write back. */
    checkBefore?: (before: User) => void,
  ): Promise<{ before: User; after: User } | undefined> {
    const values: Partial<UsersTable> = { updated_at: this.now() };
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.isActive !== undefined) values.is_active = changes.isActive ? 1 : 0;
    if (changes.isAdmin !== undefined) values.is_admin = changes.isAdmin ? 1 : 0;
    return this.db.transaction().execute(async (trx) => {
      await guard?.(trx);
      // A write that changes nothing takes the row's lock (PostgreSQL) or the database's write
      // lock (SQLite) before the read, which a plain SELECT would not.
      const locked = await trx.updateTable('users').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).executeTakeFirst();
      if (locked.numUpdatedRows === 0n) return undefined;
      const read = async (): Promise<User> => this.toUser(await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
      const before = await read();
      checkBefore?.(before);
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
      return { before, after: await read() };
    });
  }

  /**
   * Stores a new password (a password change): the hash, and when it changed. With `replacing`,
   * only over that hash (compare-and-set): false when another change has committed since it was
   * verified, or when there is no such user.
   */
  async setPasswordHash(id: string, passwordHash: string, options: { replacing?: string } = {}): Promise<boolean> {
    const now = this.now();
    let update = this.db.updateTable('users').set({ password_hash: passwordHash, password_changed_at: now, updated_at: now }).where('id', '=', id);
    if (options.replacing !== undefined) update = update.where('password_hash', '=', options.replacing);
    return (await update.executeTakeFirst()).numUpdatedRows > 0n;
  }

  /**
   * Replaces the hash a login just verified with a stronger one of the same password; false
   * (nothing written) when the stored hash is no longer `verifiedHash`. Compare-and-set, because
   * a password change may have committed since the login read the hash: an unconditional write
   * would put the old password back.
   */
  async rehashPassword(id: string, verifiedHash: string, passwordHash: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).where('password_hash', '=', verifiedHash).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** What a login's verification depended on, read afresh: undefined when the user is gone. */
  async credentialState(id: string): Promise<{ isActive: boolean; isAdmin: boolean; passwordChangedAt: number } | undefined> {
    const row = await this.db.selectFrom('users').select(['is_active', 'is_admin', 'password_changed_at']).where('id', '=', id).executeTakeFirst();
    if (row === undefined) return undefined;
    return { isActive: Number(row.is_active) === 1, isAdmin: Number(row.is_admin) === 1, passwordChangedAt: Number(row.password_changed_at) };
  }

  /** Deletes a user (sessions and refresh tokens go with it); false when it did not exist. */
  /**
   * Deletes a user; returns the ids of the live API keys and OAuth clients that go with them
   * (the foreign keys delete those rows), or undefined when there was no such user. The audit
   * event names them: the rows are gone afterwards, and "which credentials died with this
   * account" is what an investigation asks.
   */
  async deleteWithCredentials(id: string, guard?: WriteGuard): Promise<{ apiKeys: string[]; oauthClients: string[] } | undefined> {
    // Explicit deletes rather than relying on ON DELETE CASCADE (SQLite enforces it only with PRAGMA foreign_keys).
    return this.db.transaction().execute(async (trx) => {
      await guard?.(trx);
      const apiKeys = await trx.selectFrom('api_keys').select('id').where('owner_id', '=', id).where('revoked_at', 'is', null).orderBy('id').execute();
      const oauthClients = await trx.selectFrom('oauth_clients').select('id').where('owner_id', '=', id).where('revoked_at', 'is', null).orderBy('id').execute();
      // Sessions are locked before their tokens, the order a refresh takes them in
      // (session-store.ts rotate): the other order deadlocks with a concurrent refresh on PostgreSQL.
      await trx.updateTable('auth_sessions').set({ revoked_reason: 'user_deleted' }).where('user_id', '=', id).execute();
      await trx.deleteFrom('refresh_tokens').where('user_id', '=', id).execute();
      await trx.deleteFrom('auth_sessions').where('user_id', '=', id).execute();
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n ? { apiKeys: apiKeys.map((row) => row.id), oauthClients: oauthClients.map((row) => row.id) } : undefined;
    });
  }

  /** True when at least one active admin exists (dev bootstrap). */
  async hasAdmin(): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('is_admin', '=', 1).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  private toUser(row: UsersTable): User {
    return {
      id: row.id,
      email: this.cipher.decrypt(row.email, `${EMAIL_PURPOSE}:${row.id}`),
      name: row.name,
      isActive: Number(row.is_active) === 1,
      isAdmin: Number(row.is_admin) === 1,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      passwordChangedAt: Number(row.password_changed_at),
    };
  }
}
