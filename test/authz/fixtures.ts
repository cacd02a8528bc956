import type { Kysely } from 'kysely';
import type { AuditEventInput, AuditRecorder } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { insertTestUser } from '../helpers/users.js';

/** Inserts a user row directly (the user service is another domain's). */
export function insertUser(db: Kysely<DatabaseSchema>, options: { isAdmin?: boolean; isActive?: boolean } = {}): Promise<string> {
  return insertTestUser(db, options);
}

/** A user principal with an unrestricted token. */
export function userPrincipal(subject: string, permissions: readonly string[] = []): Principal {
  return { kind: 'user', subject, permissions, credentialId: `jti-${subject}` };
}

/** An audit recorder that keeps events in memory. */
export function memoryAudit(): AuditRecorder & { events: AuditEventInput[] } {
  const events: AuditEventInput[] = [];
  return {
    events,
    async record(event) {
      events.push(event);
    },
  };
}
