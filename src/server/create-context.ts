import { Redis } from 'ioredis';
import pino, { type DestinationStream, type Logger } from 'pino';
import { createApiKeys } from '../apikeys/api-keys-domain.js';
import { createAuditLogDomain } from '../audit/audit-log-domain.js';
import { createAuthz } from '../authz/authz-domain.js';
import { anyCovers } from '../authz/permission-match.js';
import { closeRedisClient, createMemoryInvalidationBus, createRedisInvalidationBus, type InvalidationBus } from '../cache/invalidation-bus.js';
import type { Settings } from '../config/index.js';
import { fieldCipherFromSettings } from '../crypto/field-cipher.js';
import { ConfigError } from '../errors/index.js';
import { createIdentityService } from '../identity/identity-service.js';
import { createOAuthServer } from '../oauth/oauth-domain.js';
import { loggerOptions } from '../http/logger-options.js';
import { createMetricsRegistry } from '../http/metrics.js';
import { rateLimitServiceFromSettings } from '../ratelimit/service-from-settings.js';
import { redactionOptionsFromSettings } from '../redact/redaction-from-settings.js';
import { createRecentErrorLog } from '../resilience/recent-error-log.js';
import { openDatabase } from '../storage/index.js';
import type { AppContext } from './app-context.js';
import { outageLog } from './outage-log.js';

export interface CreateContextOptions {
  /** Where logs go. @default stdout */
  readonly logStream?: DestinationStream;
  /** Use this logger instead of creating one. */
  readonly logger?: Logger;
}

/**
 * Opens the database (and Redis when configured) and creates the logger and metrics registry.
 * When it throws, it has closed what it opened: a caller that reports the error can exit.
 */
export function createContext(settings: Settings, options: CreateContextOptions = {}): AppContext {
  // Before anything is opened: the documented failure of a missing key must not leave sockets behind.
  const secretKey = rootSecret(settings);
  const recentErrors = createRecentErrorLog();
  const logOptions = loggerOptions(settings.logLevel, {
    onErrorLine: (line) => recentErrors.push(line),
    redaction: redactionOptionsFromSettings(settings),
  });
  const logger = options.logger ?? (options.logStream === undefined ? pino(logOptions) : pino(logOptions, options.logStream));
  const storage = openDatabase(settings.databaseUrl, {
    poolSize: settings.dbPoolSize,
    statementTimeoutMs: settings.dbStatementTimeoutMs,
    onBackgroundError: (error) => logger.error({ err: error }, 'database connection error'),
  });
  let redis: Redis | undefined;
  let invalidation: InvalidationBus | undefined;
  let context: AppContext;
  try {
    if (settings.redisUrl !== undefined) {
      redis = new Redis(settings.redisUrl, {
        // One round trip per decision, many decisions per packet (PERFORMANCE.md: same
        // throughput at a third of Redis' CPU).
        enableAutoPipelining: true,
        maxRetriesPerRequest: 1,
        commandTimeout: 1000,
        connectTimeout: 2000,
        lazyConnect: false,
      });
      // Addresses in the message are redacted like every IP in the log: the setting names the server.
      const connection = outageLog(logger, 'redis connection error (WARDEN_REDIS_URL)');
      redis.on('error', (error: Error) => connection.failed(error));
      redis.on('ready', () => connection.recovered());
    }
    const busErrors = outageLog(logger, 'invalidation bus error');
    invalidation =
      redis === undefined
        ? createMemoryInvalidationBus()
        : createRedisInvalidationBus(redis, `${settings.redisKeyPrefix}invalidate`, {
            connectionName: 'warden-invalidation',
            onError: (error) => busErrors.failed(error),
          });
    context = {
      settings,
      storage,
      logger,
      metricsRegistry: createMetricsRegistry(),
      redis,
      invalidation,
      // AES-256-GCM keyring when WARDEN_ENCRYPTION_KEY is set, else plaintext with a keyed blind index.
      fieldCipher: fieldCipherFromSettings({ secretKey, encryptionKey: settings.encryptionKey }),
      audit: {
        // Replaced by the audit log's recorder (src/audit) when it is wired below.
        async record(event) {
          logger.info({ audit: { action: event.action, outcome: event.outcome } }, 'audit event');
        },
      },
      authenticators: [],
      // Until roles exist, a principal holds exactly the permissions its credential carries.
      authorize: async (principal, permission) => anyCovers(principal.permissions, permission),
      rateLimits: rateLimitServiceFromSettings(settings, redis, logger),
      recentErrors,
      onClose: [],
    };
  } catch (error) {
    void invalidation?.close().catch(() => undefined);
    redis?.disconnect();
    void storage.close().catch(() => undefined);
    throw error;
  }
  try {
    // Audit log first, so every later domain records into it: group commit, flushed last on close.
    const auditLog = createAuditLogDomain({ storage, logger, secretKey });
    context.auditLog = auditLog;
    context.audit = auditLog.log;
    context.onClose.push(() => auditLog.log.close());
    // API keys: authenticator (first in line; it only claims wdn_ keys and X-API-Key) and usage flush on close.
    context.apiKeys = createApiKeys(context);
    // Authorization: roles and memberships; replaces `authorize` with the cached, role-aware can().
    context.authz = createAuthz(context);
    // Identity: users, login, JWT authenticator (only claims JWT-shaped bearers), refresh sessions.
    createIdentityService(context);
    // OAuth 2.0 clients and the client-credentials grant (signs with identity's keys).
    createOAuthServer(context);
  } catch (error) {
    void closeContext(context).catch(() => undefined);
    throw error;
  }
  return context;
}

function rootSecret(settings: Settings): string {
  if (settings.secretKey === undefined) {
    // Named as the operator sets it: settings.secretKey is what loadSettings made of it.
    throw new ConfigError([
      'no secret key: set WARDEN_SECRET_KEY (or WARDEN_SECRET_KEY_FILE, WARDEN_SECRETS_DIR, .env) to at least 32 random bytes, e.g. `openssl rand -base64 48`; with generateDevSecrets: false none is generated',
    ]);
  }
  return settings.secretKey;
}

/** Options of closeContext. */
export interface CloseContextOptions {
  /** Overall bound of the hooks and the closing of Redis and the database. @default settings.shutdownFlushTimeoutMs */
  readonly flushTimeoutMs?: number;
}

/**
 * Closes what createContext opened, after the domain hooks in `onClose` (newest first), all
 * within one deadline (WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS). A hook that fails is logged and the
 * rest still run; the result says whether every hook succeeded in time (false when, say, the
 * audit log's last flush could not be written, or the database stopped answering).
 */
export async function closeContext(context: AppContext, options: CloseContextOptions = {}): Promise<boolean> {
  const hooks = [...context.onClose].reverse();
  let clean = true;
  // One bound for the whole shutdown, not one per hook: a database gone silent holds each flush
  // until the client's query timeout, one after another, past any orchestrator's grace period.
  const limitMs = options.flushTimeoutMs ?? context.settings.shutdownFlushTimeoutMs;
  let expire: () => void = () => undefined;
  const expired = new Promise<'expired'>((resolve) => {
    expire = () => resolve('expired');
  });
  const timer = setTimeout(expire, limitMs);
  let timedOut = false;
  let finished = 0;
  const flushing = (async () => {
    for (const hook of hooks) {
      // Past the deadline the rest are not started: the process is about to go, and they would
      // only wait on the same unresponsive store.
      if (timedOut) return;
      try {
        await hook();
      } catch (error) {
        clean = false;
        context.logger.error({ err: error }, 'shutdown hook failed');
      }
      finished += 1;
    }
  })();
  try {
    if ((await Promise.race([flushing.then(() => 'done' as const), expired])) === 'expired') {
      timedOut = true;
      clean = false;
      context.logger.error(
        { flush_timeout_ms: limitMs, hooks_not_finished: hooks.length - finished, hooks_total: hooks.length },
        'shutdown flush timed out: what these hooks had buffered (audit rows, key usage) was not written',
      );
    }
    const closing = (async () => {
      await context.invalidation.close();
      if (context.redis !== undefined) await closeRedisClient(context.redis);
      await context.storage.close();
    })();
    if ((await Promise.race([closing.then(() => 'done' as const), expired])) === 'expired') {
      clean = false;
      // Still closing in the background; a hook that was cut off is what usually holds it.
      closing.catch(() => undefined);
      if (!timedOut) context.logger.error({ flush_timeout_ms: limitMs }, 'shutdown timed out closing Redis and the database');
    }
  } finally {
    clearTimeout(timer);
  }
  return clean;
}
