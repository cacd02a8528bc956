import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import { findById, type ApiKeyRecord } from './api-key-store.js';

/** The actor id of an API key acting as the caller is `apikey:<key id>`. */
export const API_KEY_ACTOR = 'apikey:';

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

/** Why a credential would escape the calling key's limits: the message for the caller and the error/audit fields. */
export interface LimitEscape {
  readonly message: string;
  readonly fields: Record<string, string>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * When the calling key stops working at the latest: its expiry or the end of its rotation grace
 * period, whichever is first; undefined = never.
 */
export function issuerDeadline(issuer: ApiKeyRecord): number | undefined {
  const ends = [issuer.expiresAt, issuer.revokedAt].filter((t): t is number => t !== undefined);
  return ends.length === 0 ? undefined : Math.min(...ends);
}

/**
 * How a credential issued by the key `issuer` would escape the issuer's own limits; undefined =
 * it would not. "Looser" for a rate limit is a higher limit/window ratio, or none at all
 * (compared exactly: the products exceed 2^53).
 */
export function limitEscape(issuer: ApiKeyRecord, wanted: IssuedLimits, action: IssuingAction): LimitEscape | undefined {
  const deadline = issuerDeadline(issuer);
  const problems: string[] = [];
  const fields: Record<string, string> = {};
  if (deadline !== undefined && (wanted.expiresAt === undefined || wanted.expiresAt > deadline)) {
    fields.max_expires_at = iso(deadline);
    const stops = `${iso(deadline)}, when the calling API key stops working`;
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
        ? `rate_limit must be set and allow no more than ${cap.limit} per ${cap.windowMs} ms (the calling API key's own limit)`
        : `the replacement would keep ${wanted.rateLimit === undefined ? 'no rate limit' : `a rate limit of ${wanted.rateLimit.limit} per ${wanted.rateLimit.windowMs} ms`}, looser than the calling API key's ${cap.limit} per ${cap.windowMs} ms`,
    );
  }
  if (problems.length === 0) return undefined;
  const what = keyAction ? 'A key issued by an API key' : 'A client secret handed to an API key';
  return { message: `${what} cannot escape that key's own limits: ${problems.join('; ')}`, fields };
}

/**
 * The escape, if `actor` is an API key (`apikey:<id>`) and what it hands out would outlive it
 * (or, for keys, be less rate-limited); undefined for any other actor (users, clients, the CLI)
 * or within the limits. A calling key that no longer exists bounds everything.
 */
export async function issuerLimitEscape(
  db: Kysely<DatabaseSchema>,
  actor: string,
  wanted: IssuedLimits,
  action: IssuingAction,
): Promise<LimitEscape | undefined> {
  if (!actor.startsWith(API_KEY_ACTOR)) return undefined;
  const issuer = await findById(db, actor.slice(API_KEY_ACTOR.length));
  if (issuer === undefined) return { message: 'The calling API key no longer exists, so its limits cannot be applied', fields: {} };
  return limitEscape(issuer, wanted, action);
}
