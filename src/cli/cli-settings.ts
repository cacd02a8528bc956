import { devSecretsPath, loadSettings, type LoadedSettings } from '../config/index.js';
import { resolveServiceSecrets } from '../secrets/resolve-service-secrets.js';
import type { CliIo } from './cli-io.js';

export interface CliSettingsOptions {
  /**
   * In the development profile, with no WARDEN_SECRET_KEY configured: `generate` uses
   * `<data dir>/dev-secrets.json` and creates it when absent, exactly as `warden serve` (`npm
   * start`) does, so the CLI and the service always agree on the root secret; `read` only uses
   * it when it exists. Staging and production never read it.
   */
  readonly devSecrets: 'generate' | 'read';
  /** A .env file instead of ./.env. */
  readonly envFile?: string;
}

/**
 * Loads the settings for a CLI command the way `warden serve` does: the service's own secrets
 * through the configured provider (Vault, AWS, files) first, then variables, NAME_FILE, the
 * secrets directory and .env, then in development the generated secrets. A secret generated
 * here is announced on stderr by name and file, never by value.
 */
export async function loadCliSettings(
  io: Pick<CliIo, 'err'>,
  options: CliSettingsOptions,
): Promise<LoadedSettings> {
  const envFile = options.envFile === undefined ? {} : { envFile: options.envFile };
  const fromProviders = await resolveServiceSecrets(envFile);
  const loaded = loadSettings({
    providerSecrets: fromProviders,
    generateDevSecrets: options.devSecrets === 'generate',
    readDevSecrets: true,
    ...envFile,
  });
  for (const name of loaded.generated) {
    io.err(
      `warden: generated ${name} into ${devSecretsPath(loaded.settings.dataDir)} (mode 0600; development only, value not shown; a service with this data directory uses it too)`,
    );
  }
  return loaded;
}
