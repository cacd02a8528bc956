/** Every action the audit log knows; other issues add theirs here. */
export const AUDIT_ACTIONS = [
  'auth.login.succeeded',
  'auth.login.failed',
  'auth.logout',
  'auth.token.refreshed',
  'auth.token.refresh_failed',
  'auth.refresh.reuse_detected',
  'auth.password_change.failed',
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.deleted',
  'user.password_changed',
  'role.created',
  'role.updated',
  'role.deleted',
  'permission.granted',
  'permission.revoked',
  'membership.added',
  'membership.removed',
  'apikey.created',
  'apikey.rotated',
  'apikey.revoked',
  'apikey.updated',
  'apikey.verification_denied',
  'ratelimit.blocked',
  'config.loaded',
  'signing_key.rotated',
  'crypto.rotated',
  'audit.pruned',
  'audit.prune_refused',
  'audit.unverified_acknowledged',
  'client.created',
  'client.rotated',
  'client.revoked',
  'client.auth.failed',
  'client.token.issued',
  'logs.triaged',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** What a caller records. `details` is redacted before it is stored. */
export interface AuditEventInput {
  readonly action: AuditAction;
  /** Who did it: user id, `apikey:<id>`, `client:<id>`, `system`, or an email hash for unknown users. */
  readonly actor: string;
  readonly entity_type?: string;
  readonly entity_id?: string;
  readonly outcome: AuditOutcome;
  readonly ip?: string;
  readonly user_agent?: string;
  readonly request_id?: string;
  readonly details?: Record<string, unknown>;
}

/**
 * The one audit interface. `record` resolves once the event is durable (committed), so a
 * handler that awaits it never reports an action whose audit row could still be lost.
 */
export interface AuditRecorder {
  record(event: AuditEventInput): Promise<void>;
}
