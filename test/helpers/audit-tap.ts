import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { TestApp } from './app.js';

/** Keeps every audit event the app records from now on (each still written durably), for assertions on what was audited. */
export function tapAudit(t: TestApp): AuditEventInput[] {
  const events: AuditEventInput[] = [];
  const durable = t.context.audit;
  t.context.audit = {
    async record(event) {
      events.push(event);
      await durable.record(event);
    },
  };
  return events;
}
