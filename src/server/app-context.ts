import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditRecorder } from '../audit/audit-event.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Settings } from '../config/index.js';
import type { Authenticator, Authorizer } from '../http/auth-guard.js';
import type { Storage } from '../storage/index.js';

/**
 * Everything the routes are built from. Created once by the composition root; domain
 * services hang off it so that no module reaches for globals.
 */
export interface AppContext {
  readonly settings: Settings;
  readonly storage: Storage;
  readonly logger: Logger;
  readonly metricsRegistry: Registry;
  /** Present when WARDEN_REDIS_URL is set. */
  readonly redis: Redis | undefined;
  /** Cache invalidation across instances (Redis pub/sub when configured, else in-process). */
  readonly invalidation: InvalidationBus;
  /** Field encryption at rest and blind indexes (users.email, private keys). */
  readonly fieldCipher: FieldCipher;
  /** The audit log; `record` resolves when the event is durable. */
  audit: AuditRecorder;
  /** Tried in order by the auth guard (JWT, API key, …); domains push theirs. */
  readonly authenticators: Authenticator[];
  /** Permission decisions for the auth guard; authz replaces the default wildcard match. */
  authorize: Authorizer;
  /** Run in reverse order on shutdown after the HTTP server stopped accepting requests. */
  readonly onClose: ((() => Promise<void>) | (() => void))[];
}
