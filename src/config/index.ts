export { loadSettings, type LoadSettingsOptions, type LoadedSettings } from './load-settings.js';
export {
  SETTING_DEFINITIONS,
  PROFILES,
  LOG_LEVELS,
  type Settings,
  type SettingKey,
  type Profile,
  type LogLevel,
} from './setting-definitions.js';
export { PLAIN_HTTP_AWS_PROBLEM, PLAIN_HTTP_VAULT_PROBLEM, productionProblems, productionWarnings } from './production-checks.js';
export { estimateEntropyBytes, isKnownDefaultSecret, MIN_SECRET_BYTES } from './secret-strength.js';
export { describeSettings, maskSecret, maskUrlCredentials, scrubUrlSecrets } from './describe-settings.js';
export { devSecret, devSecretsPath, existingDevSecret } from './dev-secrets.js';
export type { SettingSource } from './sources.js';
