import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import { findById, keyStopsAt, type ApiKeyRecord } from './api-key-store.js';

/** The actor id of an API key acting as the caller is `apikey:<key id>`. */
export const API_KEY_ACTOR = 'apikey:';

/** The actor id of an OAuth client acting as the caller (its client-credentials token) is `client:<client_id>`. */
export const CLIENT_ACTOR = 'client:';

/**
 * What the caller is about to hand out: a key or a client secret, new or rotated. It is also
 * the audit action of a refusal.
 */
export type IssuingAction = 'apikey.created' | 'apikey.rotated' | 'client.created' | 'client.rotated';

type RateLimit = { readonly limit: number; readonly windowMs: number };

/** The limits the credential being handed out would have. */
export interface IssuedLimits {
  readonly expiresAt?: number | undefined;
  /** Compared for keys only: an OAuth client has no rate limit of its own. */
  readonly rateLimit?: RateLimit | undefined;
}

/** Why a credential would escape the calling credential's limits: the message for the caller and the error/audit fields. */
export interface LimitEscape {
  readonly message: string;
  readonly fields: Record<string, string>;
}

/** The calling credential, as far as its limits go. */
export interface Issuer {
  /** How messages name it. */
  readonly noun: 'API key' | 'OAuth client';
  /** When it stops working at the latest; undefined = never. */
  readonly deadline: number | undefined;
  /** A key's own rate limit; an OAuth client has none. */
  readonly rateLimit?: RateLimit | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The earliest of some end times; undefined when there is none. */
function earliest(...ends: (number | null | undefined)[]): number | undefined {
  const known = ends.filter((t): t is number => t !== undefined && t !== null);
  return known.length === 0 ? undefined : Math.min(...known);
}

/**
 * When the calling key stops working at the latest: its expiry or the end of its rotation grace
 * period, whichever is first; undefined = never.
 */
export function issuerDeadline(issuer: ApiKeyRecord): number | undefined {
  return keyStopsAt(issuer);
}

/**
 * How a credential issued by `issuer` would escape the issuer's own limits; undefined = it
 * would not. "Looser" for a rate limit is a higher limit/window ratio, or none at all
 * (compared exactly: the products exceed 2^53).
 */
export function limitEscape(issuer: Issuer, wanted: IssuedLimits, action: IssuingAction): LimitEscape | undefined {
  const deadline = issuer.deadline;
  const caller = `the calling ${issuer.noun}`;
  const problems: string[] = [];
  const fields: Record<string, string> = {};
  if (deadline !== undefined && (wanted.expiresAt === undefined || wanted.expiresAt > deadline)) {
    fields.max_expires_at = iso(deadline);
    const stops = `${iso(deadline)}, when ${caller} stops working`;
    problems.push(
      action === 'apikey.created' || action === 'client.created'
        ? `expires_at must be set and no later than ${stops}`
        : action === 'apikey.rotated'
          ? `the replacement would keep ${wanted.expiresAt === undefined ? 'no expiry' : `the expiry ${iso(wanted.expiresAt)}`}, later than ${stops}`
          : `the new secret would work as long as the client, which ${wanted.expiresAt === undefined ? 'never expires' : `expires at ${iso(wanted.expiresAt)}`}, later than ${stops}`,
    );
  }
  const cap = issuer.rateLimit;
  const looser = (rl: RateLimit | undefined, than: RateLimit): boolean =>
    rl === undefined || BigInt(rl.limit) * BigInt(than.windowMs) > BigInt(than.limit) * BigInt(rl.windowMs);
  // Clients carry no rate limit to compare (docs/oauth.md says what bounds them instead).
  const keyAction = action === 'apikey.created' || action === 'apikey.rotated';
  if (keyAction && cap !== undefined && looser(wanted.rateLimit, cap)) {
    fields.max_rate_limit = `${cap.limit}/${cap.windowMs}ms`;
    problems.push(
      action === 'apikey.created'
        ? `rate_limit must be set and allow no more than ${cap.limit} per ${cap.windowMs} ms (${caller}'s own limit)`
        : `the replacement would keep ${wanted.rateLimit === undefined ? 'no rate limit' : `a rate limit of ${wanted.rateLimit.limit} per ${wanted.rateLimit.windowMs} ms`}, looser than ${caller}'s ${cap.limit} per ${cap.windowMs} ms`,
    );
  }
  if (problems.length === 0) return undefined;
  const what = keyAction ? `A key issued by an ${issuer.noun}` : `A client secret handed to an ${issuer.noun}`;
  return { message: `${what} cannot escape that ${issuer.noun === 'API key' ? 'key' : 'client'}'s own limits: ${problems.join('; ')}`, fields };
}

/**
 * The calling credential named by `actor`, when it is one whose limits bind what it hands out:
 * an API key (`apikey:<id>`) or an OAuth client (`client:<client_id>`). `null` = such a
 * credential no longer exists; undefined = any other actor (users, the CLI, `system`).
 */
async function issuerOf(db: Kysely<DatabaseSchema>, actor: string): Promise<Issuer | null | undefined> {
  if (actor.startsWith(API_KEY_ACTOR)) {
    const key = await findById(db, actor.slice(API_KEY_ACTOR.length));
    return key === undefined ? null : { noun: 'API key', deadline: issuerDeadline(key), rateLimit: key.rateLimit };
  }
  if (actor.startsWith(CLIENT_ACTOR)) {
    const client = await db
      .selectFrom('oauth_clients')
      .select(['expires_at', 'revoked_at'])
      .where('id', '=', actor.slice(CLIENT_ACTOR.length))
      .executeTakeFirst();
    // A revocation is an end too: one that lands while the client's request runs leaves it a
    // deadline in the past, which nothing it hands out can meet.
    return client === undefined ? null : { noun: 'OAuth client', deadline: earliest(client.expires_at, client.revoked_at) };
  }
  return undefined;
}

/**
 * The escape, if `actor` is an API key (`apikey:<id>`) or an OAuth client (`client:<client_id>`)
 * and what it hands out would outlive it (or, for keys issued by a key, be less rate-limited);
 * undefined for any other actor (users, the CLI) or within the limits. A calling credential
 * that no longer exists bounds everything.
 */
export async function issuerLimitEscape(
  db: Kysely<DatabaseSchema>,
  actor: string,
  wanted: IssuedLimits,
  action: IssuingAction,
): Promise<LimitEscape | undefined> {
  const issuer = await issuerOf(db, actor);
  if (issuer === undefined) return undefined;
  if (issuer === null) {
    const noun = actor.startsWith(API_KEY_ACTOR) ? 'API key' : 'OAuth client';
    return { message: `The calling ${noun} no longer exists, so its limits cannot be applied`, fields: {} };
  }
  return limitEscape(issuer, wanted, action);
}
