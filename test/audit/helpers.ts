import pino from 'pino';
import { createAuditLog, type AuditLog } from '../../src/audit/audit-recorder.js';
import type { PreparedEvent } from '../../src/audit/audit-chain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import type { Storage } from '../../src/storage/index.js';

export const CHECKPOINT_KEY = deriveKey('test-root-secret-for-audit-checkpoints-0123456789', 'audit-checkpoint:v1');

/** A recorder on `storage` with a controllable clock. */
export function testAuditLog(storage: Storage, options: { now?: () => number; checkpointIntervalMs?: number } = {}): AuditLog {
  return createAuditLog({
    storage,
    logger: pino({ level: 'silent' }),
    checkpointKey: CHECKPOINT_KEY,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/** A plain event of the given index. */
export function sampleEvent(i: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return { action: 'user.updated', actor: `user-${i % 3}`, entity_type: 'user', entity_id: `u${i}`, outcome: 'success', details: { i }, ...overrides };
}

/** A CLI io that keeps what a command printed. */
export function captureIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), readStdin: async () => Buffer.alloc(0) };
}

/** A prepared event `i` dated `at`, as the chain stores it: for tests that append at chosen dates. */
export function datedEvent(at: number, i: number): PreparedEvent {
  return {
    id: crypto.randomUUID(),
    occurred_at: at,
    action: 'user.updated',
    actor: 'u1',
    entity_type: 'user',
    entity_id: `u${i}`,
    outcome: 'success',
    ip: '203.0.113.1',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0',
    request_id: crypto.randomUUID(),
    details: JSON.stringify({ i }),
  };
}
