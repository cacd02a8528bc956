import type { AppContext } from '../server/app-context.js';
import { createApiKeyAuthenticator } from './api-key-authenticator.js';
import { ApiKeyService } from './api-key-service.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { createPepperKeyring, type PepperKeyring } from './pepper-keyring.js';
import { UsageTracker } from './usage-tracker.js';

/** The API-key domain as the service uses it. */
export interface ApiKeys {
  readonly service: ApiKeyService;
  readonly verifier: ApiKeyVerifier;
  readonly usage: UsageTracker;
  readonly keyring: PepperKeyring;
}

// The authorization domain adds `context.authz`; until then keys are capped by their creator.
type MaybeAuthz = { authz?: { effectivePermissions(subject: string): Promise<readonly string[]> } };

/**
 * Builds the API-key domain on a context: registers its authenticator first (it only
 * claims `X-API-Key` and `Bearer wdn_…`, so JWT authenticators never see a key) and flushes
 * the usage buffer on shutdown.
 */
export function createApiKeys(context: AppContext, options: { now?: () => number; flushIntervalMs?: number } = {}): ApiKeys {
  const { settings } = context;
  if (settings.secretKey === undefined) throw new TypeError('settings.secretKey must be set before API keys are created');
  const db = context.storage.db;
  const keyring = createPepperKeyring({ secretKey: settings.secretKey, pepperSetting: settings.apiKeyPepper });
  const usage = new UsageTracker({
    db,
    flushIntervalMs: options.flushIntervalMs,
    onError: (error) => context.logger.error({ err: error }, 'API-key usage flush failed; will retry'),
  });
  const verifier = new ApiKeyVerifier({
    db,
    keyring,
    usage,
    rateLimits: context.rateLimits,
    invalidation: context.invalidation,
    legacySalt: settings.apiKeyLegacySalt,
    cacheTtlMs: settings.apiKeyCacheTtlMs,
    now: options.now,
    onBackgroundError: (error) => context.logger.error({ err: error }, 'API-key hash upgrade failed'),
  });
  const service = new ApiKeyService({
    db,
    keyring,
    usage,
    invalidation: context.invalidation,
    audit: () => context.audit,
    // Looked up at each call: the authorization domain may be wired after this one.
    ownerPermissions: async (ownerId) => (context as AppContext & MaybeAuthz).authz?.effectivePermissions(ownerId),
    rotationGraceMs: settings.apiKeyRotationGraceMs,
    onAnnounceError: (error) => context.logger.error({ err: error }, 'API-key change not announced to other instances; they drop it within the cache TTL'),
    now: options.now,
  });
  context.authenticators.unshift(createApiKeyAuthenticator(verifier, () => context.audit));
  context.onClose.push(async () => {
    verifier.close();
    await usage.close();
  });
  return { service, verifier, usage, keyring };
}
