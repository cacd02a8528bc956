import { Redis } from 'ioredis';
import pino, { type DestinationStream, type Logger } from 'pino';
import { anyCovers } from '../authz/permission-match.js';
import { createMemoryInvalidationBus, createRedisInvalidationBus } from '../cache/invalidation-bus.js';
import type { Settings } from '../config/index.js';
import { createPlaintextFieldCipher } from '../crypto/field-cipher.js';
import { loggerOptions } from '../http/logger-options.js';
import { createMetricsRegistry } from '../http/metrics.js';
import { openDatabase } from '../storage/index.js';
import type { AppContext } from './app-context.js';

export interface CreateContextOptions {
  /** Where logs go. @default stdout */
  readonly logStream?: DestinationStream;
  /** Use this logger instead of creating one. */
  readonly logger?: Logger;
}

/** Opens the database (and Redis when configured) and creates the logger and metrics registry. */
export function createContext(settings: Settings, options: CreateContextOptions = {}): AppContext {
  const logger =
    options.logger ??
    (options.logStream === undefined ? pino(loggerOptions(settings.logLevel)) : pino(loggerOptions(settings.logLevel), options.logStream));
  const storage = openDatabase(settings.databaseUrl, {
    poolSize: settings.dbPoolSize,
    statementTimeoutMs: settings.dbStatementTimeoutMs,
    onBackgroundError: (error) => logger.error({ err: error }, 'database connection error'),
  });
  let redis: Redis | undefined;
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
    redis.on('error', (error: Error) => logger.warn({ err: { message: error.message } }, 'redis connection error'));
  }
  const context: AppContext = {
    settings,
    storage,
    logger,
    metricsRegistry: createMetricsRegistry(),
    redis,
    invalidation:
      redis === undefined
        ? createMemoryInvalidationBus()
        : createRedisInvalidationBus(redis, `${settings.redisKeyPrefix}invalidate`, (error) =>
            logger.warn({ err: { message: error.message } }, 'invalidation bus error'),
          ),
    // Replaced by the keyring-backed cipher (src/crypto) when WARDEN_ENCRYPTION_KEY is set.
    fieldCipher: createPlaintextFieldCipher(rootSecret(settings)),
    audit: {
      // Replaced by the audit log's recorder (src/audit) when it is wired below.
      async record(event) {
        logger.info({ audit: { action: event.action, outcome: event.outcome } }, 'audit event');
      },
    },
    authenticators: [],
    // Until roles exist, a principal holds exactly the permissions its credential carries.
    authorize: async (principal, permission) => anyCovers(principal.permissions, permission),
    onClose: [],
  };
  return context;
}

function rootSecret(settings: Settings): string {
  if (settings.secretKey === undefined) throw new TypeError('settings.secretKey must be set before the context is created');
  return settings.secretKey;
}

/** Closes what createContext opened, after the domain hooks in `onClose` (newest first). */
export async function closeContext(context: AppContext): Promise<void> {
  for (const hook of [...context.onClose].reverse()) {
    try {
      await hook();
    } catch (error) {
      context.logger.error({ err: error }, 'shutdown hook failed');
    }
  }
  await context.invalidation.close();
  if (context.redis !== undefined) {
    try {
      await context.redis.quit();
    } catch {
      context.redis.disconnect();
    }
  }
  await context.storage.close();
}
