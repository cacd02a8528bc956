/** API keys: format, keyed hashing, cached verification, usage tracking, rotation and import. */
export { API_KEY_PATTERN, generateApiKey, parseApiKey, looksLikeWardenKey, displayPrefix, KEY_ENVIRONMENTS, type KeyEnvironment, type ParsedApiKey } from './key-format.js';
export { createPepperKeyring, parsePepperSetting, legacySaltedSha256, type PepperKeyring } from './pepper-keyring.js';
export {
  ApiKeyVerifier,
  VERIFICATION_CODES,
  type ApiKeyVerifierOptions,
  type KeyRateLimitState,
  type VerificationCode,
  type VerificationResult,
  type VerifyOptions,
} from './api-key-verifier.js';
export { ApiKeyService, type ActorContext, type ApiKeyServiceOptions, type CreateKeyInput, type IssuedKey } from './api-key-service.js';
export type { ApiKeyRecord } from './api-key-store.js';
export { UsageTracker, type UsageTrackerOptions, type PendingUsage } from './usage-tracker.js';
export { importKeys, type ImportEntry, type ImportReport } from './key-import.js';
export { createApiKeyAuthenticator, presentedApiKey } from './api-key-authenticator.js';
export { heldPermissions, keyPrincipal } from './held-permissions.js';
export { createApiKeys, type ApiKeys } from './api-keys-domain.js';
export type { ApiKeyTables, ApiKeysTable } from './apikey-tables.js';
