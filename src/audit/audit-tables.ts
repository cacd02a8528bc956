/** One stored audit event. Rows are only ever inserted (pruning is the one audited exception). */
export interface AuditEventsTable {
  id: string;
  /** Position in the hash chain: 1, 2, 3… without gaps (a gap means a deleted row). */
  seq: number;
  occurred_at: number;
  action: string;
  actor: string;
  entity_type: string | null;
  entity_id: string | null;
  outcome: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** Redacted details as canonical (sorted-key) JSON text, or null. */
  details: string | null;
  /** SHA-256 (hex) of the previous event's canonical form; 64 zeros for the first event. */
  prev_hash: string;
  /** SHA-256 (hex) of this event's canonical form (which includes prev_hash). */
  hash: string;
}

/**
 * The single chain-head row (id 'head'). Every append updates it first, which serialises
 * writers on both databases (a row lock on PostgreSQL, the write lock on SQLite).
 */
export interface AuditChainHeadTable {
  id: string;
  seq: number;
  hash: string;
  updated_at: number;
}

/** Signed statements "the chain had this head at this time"; detect a truncated tail. */
export interface AuditCheckpointsTable {
  id: string;
  seq: number;
  hash: string;
  created_at: number;
  /** 'head': periodic head checkpoint; 'prune': the chain starts after this point. */
  kind: string;
  /** HMAC-SHA256 (hex) over the checkpoint, keyed from the root secret. */
  signature: string;
}

export interface AuditTables {
  audit_events: AuditEventsTable;
  audit_chain_head: AuditChainHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
}
