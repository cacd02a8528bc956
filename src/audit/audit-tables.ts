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
  /** Ordinal of the newest chained checkpoint (0: none yet). Migration 0010. */
  checkpoint_ordinal: number;
  /** Signature of that checkpoint, or null when there is none. Migration 0010. */
  checkpoint_signature: string | null;
  /**
   * HMAC-SHA256 (hex) over seq, hash, checkpoint_ordinal and checkpoint_signature (not
   * updated_at). Null only on a database nothing was appended to since migration 0010.
   */
  signature: string | null;
}

/** Signed statements "the chain had this head at this time"; detect a truncated tail. */
export interface AuditCheckpointsTable {
  id: string;
  seq: number;
  hash: string;
  created_at: number;
  /**
   * 'head': periodic head checkpoint; 'prune': the chain starts after this point;
   * 'legacy': the unsigned head of a log written before migration 0010, taken over as found;
   * 'unverified': an append found a head row whose signature did not verify;
   * 'acknowledged': an operator accepted the 'unverified' ones before it at or below its seq.
   */
  kind: string;
  /** HMAC-SHA256 (hex) over the checkpoint (and, when chained, its ordinal and prev_signature). */
  signature: string;
  /** 1, 2, 3… in the order checkpoints were written; null on rows written before migration 0010. */
  ordinal: number | null;
  /** The signature of the checkpoint with the previous ordinal; null for ordinal 1 and old rows. */
  prev_signature: string | null;
}

export interface AuditTables {
  audit_events: AuditEventsTable;
  audit_chain_head: AuditChainHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
}
