import { loadSettings } from '../config/index.js';
import { SETTING_DEFINITIONS, type SettingKey } from '../config/setting-definitions.js';
import { secretManagerFromSettings } from './secret-manager-from-settings.js';

// The provider's own credentials cannot come from the provider.
const BOOTSTRAP_SECRETS = new Set(['WARDEN_VAULT_TOKEN', 'WARDEN_VAULT_SECRET_ID']);

/**
 * Fetches the service's own secrets (WARDEN_SECRET_KEY, WARDEN_ENCRYPTION_KEY and every other
 * setting marked secret, e.g. peppers) from the configured provider, for those not already set
 * by a variable, NAME_FILE, the secrets directory or .env. Returns them keyed by variable name,
 * to pass as `providerSecrets` to loadSettings; with WARDEN_SECRETS_PROVIDER=env nothing is
 * fetched. Values are never logged. Throws a ConfigError (exit 78) before any request when the
 * provider cannot be built, e.g. a plain-http Vault address in production.
 */
export async function resolveServiceSecrets(
  options: { env?: Readonly<Record<string, string | undefined>>; envFile?: string | false } = {},
): Promise<Record<string, string>> {
  const env = options.env ?? process.env;
  // The profile the service will run with (WARDEN_ENV from the same variables, NAME_FILE, secrets
  // directory and .env), so that the provider is built under its rules: production refuses a
  // plain-http Vault before any request carries the token. Its other checks run later, on the
  // final values (refuseUnsafe: false here; nothing is generated).
  const { settings, sources } = loadSettings({
    env,
    generateDevSecrets: false,
    refuseUnsafe: false,
    ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
  });
  const resolved: Record<string, string> = Object.create(null) as Record<string, string>;
  if (settings.secretsProvider === 'env') return resolved;
  const manager = secretManagerFromSettings(settings, env);
  for (const [key, definition] of Object.entries(SETTING_DEFINITIONS) as [SettingKey, (typeof SETTING_DEFINITIONS)[SettingKey]][]) {
    if (definition.secret !== true || BOOTSTRAP_SECRETS.has(definition.name) || sources[key] !== 'default') continue;
    const value = await manager.getOptional(definition.name);
    if (value !== undefined) resolved[definition.name] = value;
  }
  return resolved;
}
