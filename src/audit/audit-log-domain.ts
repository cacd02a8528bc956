import type { Logger } from 'pino';
import { deriveKey } from '../crypto/derive-key.js';
import type { Storage } from '../storage/index.js';
import { createAuditLog, type AuditLog, type AuditLogOptions } from './audit-recorder.js';

/** The purpose label of the checkpoint HMAC key (HKDF from the root secret). */
export const CHECKPOINT_KEY_PURPOSE = 'audit-checkpoint:v1';

/** What the audit routes and the CLI share: the recorder, the storage and the checkpoint key. */
export interface AuditLogDomain {
  readonly log: AuditLog;
  readonly storage: Storage;
  readonly checkpointKey: Uint8Array;
  readonly now: () => number;
}

/** Builds the audit log of a service or CLI process from the root secret. */
export function createAuditLogDomain(options: {
  storage: Storage;
  logger: Logger;
  secretKey: string;
  tuning?: Pick<AuditLogOptions, 'flushIntervalMs' | 'maxBatch' | 'checkpointIntervalMs' | 'blockSampleWindowMs' | 'failureSampleWindowMs' | 'now'>;
}): AuditLogDomain {
  const checkpointKey = deriveKey(options.secretKey, CHECKPOINT_KEY_PURPOSE);
  const log = createAuditLog({ storage: options.storage, logger: options.logger, checkpointKey, ...options.tuning });
  return { log, storage: options.storage, checkpointKey, now: options.tuning?.now ?? Date.now };
}
