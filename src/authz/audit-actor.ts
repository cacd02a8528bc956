import type { Principal } from '../http/principal.js';

/**
 * The audit actor of a principal, spelt the same by every route so that one `actor` filter
 * finds everything a credential did: a user's id, `apikey:<key id>`, `client:<client_id>`
 * (the client, never the jti of the token it used, which names nothing a query could find),
 * and `anonymous` without a principal.
 */
export function actorId(principal: Principal | undefined): string {
  if (principal === undefined) return 'anonymous';
  if (principal.kind === 'api_key') return `apikey:${principal.keyId ?? principal.credentialId}`;
  if (principal.kind === 'client') return `client:${principal.subject}`;
  return principal.subject;
}
