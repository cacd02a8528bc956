import { ValidationError } from '../errors/index.js';
import type { OAuthClient } from './oauth-client-service.js';

/**
 * A client as `/v1/clients` shows it: the service's fields with every time as an ISO 8601
 * string in UTC (`2030-01-01T00:00:00.000Z`), as API keys and users show theirs. Never the
 * secret or its hash.
 */
export interface OAuthClientView {
  readonly client_id: string;
  readonly name: string;
  readonly owner_id: string;
  readonly scopes: readonly string[];
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
  /** Until when the previous secret still works after a rotation. */
  readonly previous_secret_expires_at: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The wire form of a client (times as ISO 8601 strings); the CLI's `clients show` prints it too. */
export function clientView(client: OAuthClient): OAuthClientView {
  // Field by field: a field the service gains later is not published without a decision here.
  return {
    client_id: client.client_id,
    name: client.name,
    owner_id: client.owner_id,
    scopes: client.scopes,
    created_at: new Date(client.created_at).toISOString(),
    expires_at: iso(client.expires_at),
    revoked_at: iso(client.revoked_at),
    last_used_at: iso(client.last_used_at),
    previous_secret_expires_at: iso(client.previous_secret_expires_at),
  };
}

/**
 * Epoch milliseconds of a request's time field. The schema has already required an RFC 3339
 * date-time with a time zone (`format: date-time`); this refuses the few such strings that
 * name no instant JavaScript can represent (a leap second `…T23:59:60Z`), naming the field.
 */
export function parseClientTime(value: string, field: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} is not a representable date-time (use e.g. 2030-01-01T00:00:00Z)`, { field });
  return ms;
}
