export { AUDIT_ACTIONS, type AuditAction, type AuditEventInput, type AuditOutcome, type AuditRecorder } from './audit-event.js';
export { createAuditLog, type AuditLog, type AuditLogOptions } from './audit-recorder.js';
export { createAuditLogDomain, CHECKPOINT_KEY_PURPOSE, type AuditLogDomain } from './audit-log-domain.js';
export { verifyChain, type VerifyReport, type ChainBreak, type ChainBreakReason, type AcknowledgedMark } from './audit-verify.js';
export {
  acknowledgeUnverified,
  acknowledgementReason,
  planAcknowledgement,
  type AcknowledgeOptions,
  type AcknowledgeResult,
  type AcknowledgementPlan,
  type UnverifiedMark,
} from './audit-acknowledge.js';
export { queryEvents, exportEvents, parseTime as parseAuditTime, timeRange, type AuditFilter, type AuditEventView, type AuditPage } from './audit-query.js';
export { AuditPruneRefusedError, pruneEvents, type PruneRefusal, type PruneResult } from './audit-prune.js';
export type { AuditTables } from './audit-tables.js';
