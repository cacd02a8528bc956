import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiKeys } from '../apikeys/api-keys-domain.js';
import type { AuditRecorder } from '../audit/audit-event.js';
import type { AuthzService } from '../authz/authz-service.js';
import type { AuditLogDomain } from '../audit/audit-log-domain.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Settings } from '../config/index.js';
import type { Authenticator, Authorizer } from '../http/auth-guard.js';
import type { RateLimitService } from '../ratelimit/rate-limit-service.js';
import type { RecentErrorLog } from '../resilience/recent-error-log.js';
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
  /** The audit log's recorder, storage and checkpoint key (routes, verification); set by createContext. */
  auditLog?: AuditLogDomain;
  /** Tried in order by the auth guard (JWT, API key, …); domains push theirs. */
  readonly authenticators: Authenticator[];
  /** Permission decisions for the auth guard; authz replaces the default wildcard match. */
  authorize: Authorizer;
  /** Rate limiting for every domain: `rateLimits.limiter({name, limit, windowMs, …})`. */
  readonly rateLimits: RateLimitService;
  /** The most recent error-level log lines (bounded ring; read by log triage). */
  readonly recentErrors: RecentErrorLog;
  /** API keys (src/apikeys): issue, verify (cached), rotate, revoke; set by createContext. */
  apiKeys?: ApiKeys;
  /** Roles, memberships, effective permissions and `can()` (src/authz); set by createContext. */
  authz?: AuthzService;
  /** Run in reverse order on shutdown after the HTTP server stopped accepting requests. */
  readonly onClose: ((() => Promise<void>) | (() => void))[];
}
