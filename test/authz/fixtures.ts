import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditEventInput, AuditRecorder } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import type { DatabaseSchema } from '../../src/storage/index.js';

/** Inserts a user row directly (the user service is another domain's). */
export async function insertUser(db: Kysely<DatabaseSchema>, options: { isAdmin?: boolean; isActive?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await db
    .insertInto('users')
    .values({
      id,
      email: `${id}@example.test`,
      email_lookup: id,
      name: null,
      password_hash: 'x',
      is_active: options.isActive === false ? 0 : 1,
      is_admin: options.isAdmin === true ? 1 : 0,
      created_at: now,
      updated_at: now,
      password_changed_at: now,
    })
    .execute();
  return id;
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
