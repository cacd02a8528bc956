import { loadSettings, PLAIN_HTTP_AWS_PROBLEM, PLAIN_HTTP_VAULT_PROBLEM, type Settings } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { usesPlainHttp } from '../http/loopback-host.js';
import { createAwsProvider } from './aws-provider.js';
import { createEnvProvider } from './env-provider.js';
import { createFileProvider } from './file-provider.js';
import { SecretManager } from './secret-manager.js';
import type { SecretProvider } from './secret-provider.js';
import { createVaultProvider } from './vault-provider.js';

type ProviderSettings = Pick<
  Settings,
  | 'secretsProvider'
  | 'secretsDir'
  | 'vaultAddr'
  | 'vaultToken'
  | 'vaultRoleId'
  | 'vaultSecretId'
  | 'vaultNamespace'
  | 'vaultMount'
  | 'vaultPath'
  | 'vaultCaFile'
  | 'awsRegion'
  | 'awsSecretPrefix'
  | 'awsEndpoint'
  | 'secretsCacheTtlMs'
> &
  // The profile the service runs with: production refuses a plain-http Vault address (or AWS
  // endpoint on another host) before any request. Absent (settings built by hand) = not production.
  Partial<Pick<Settings, 'env'>>;

// Missing or unusable provider settings are configuration problems (ConfigError, exit 78), named
// by variable, not internal errors: they are found before any secret is fetched.
function vault(s: ProviderSettings): SecretProvider {
  if (s.vaultAddr === undefined) {
    throw new ConfigError(['WARDEN_SECRETS_PROVIDER=vault needs WARDEN_VAULT_ADDR: set it to the Vault address, e.g. https://vault.internal:8200']);
  }
  const problems: string[] = [];
  // Production refuses this address anyway, but its checks run on the final settings, after the
  // service's own secrets were fetched: the token (or the AppRole login) would already have crossed
  // the network in clear. So it is refused here, before the provider exists. No loopback
  // exemption, as in the production check.
  if (s.env === 'production' && usesPlainHttp(s.vaultAddr)) problems.push(PLAIN_HTTP_VAULT_PROBLEM);
  if (s.vaultToken === undefined && (s.vaultRoleId === undefined || s.vaultSecretId === undefined)) {
    problems.push(
      'the vault secrets provider needs credentials: set WARDEN_VAULT_TOKEN (or WARDEN_VAULT_TOKEN_FILE), or WARDEN_VAULT_ROLE_ID and WARDEN_VAULT_SECRET_ID for AppRole',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  try {
    return createVaultProvider({
      address: s.vaultAddr,
      ...(s.vaultToken === undefined ? {} : { token: s.vaultToken }),
      ...(s.vaultRoleId === undefined || s.vaultSecretId === undefined ? {} : { appRole: { roleId: s.vaultRoleId, secretId: s.vaultSecretId } }),
      ...(s.vaultNamespace === undefined ? {} : { namespace: s.vaultNamespace }),
      ...(s.vaultCaFile === undefined ? {} : { caFile: s.vaultCaFile }),
      mount: s.vaultMount,
      path: s.vaultPath,
    });
  } catch (error) {
    // Reading WARDEN_VAULT_CA_FILE is the only thing left that can fail here; its message names a path, never a secret.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new ConfigError([`WARDEN_VAULT_CA_FILE cannot be read (${code}): ${s.vaultCaFile ?? ''}`]);
    throw error;
  }
}

function aws(s: ProviderSettings): SecretProvider {
  if (s.awsRegion === undefined) {
    throw new ConfigError(['WARDEN_SECRETS_PROVIDER=aws needs WARDEN_AWS_REGION: set it to the region that holds the secrets, e.g. eu-west-1']);
  }
  // As for Vault: refused before the first request fetches secrets in clear. A local emulator is exempt, as in the production check.
  if (s.env === 'production' && s.awsEndpoint !== undefined && usesPlainHttp(s.awsEndpoint, { exceptLoopback: true })) throw new ConfigError([PLAIN_HTTP_AWS_PROBLEM]);
  return createAwsProvider({ region: s.awsRegion, prefix: s.awsSecretPrefix, ...(s.awsEndpoint === undefined ? {} : { endpoint: s.awsEndpoint }) });
}

/**
 * The providers WARDEN_SECRETS_PROVIDER selects. `auto`: Vault if WARDEN_VAULT_ADDR is set,
 * else AWS if WARDEN_AWS_REGION is, else files (NAME_FILE, WARDEN_SECRETS_DIR) then env.
 * `chain`: every configured one of Vault, AWS, files, env, in that order. Throws a ConfigError
 * naming the variable when one cannot be built (Vault without an address or credentials, or
 * with a plain-http address in production; AWS without a region, or with a plain-http endpoint
 * to another host in production).
 */
export function providersFromSettings(s: ProviderSettings, env: Readonly<Record<string, string | undefined>> = process.env): SecretProvider[] {
  const files = (): SecretProvider => createFileProvider({ env, ...(s.secretsDir === undefined ? {} : { dir: s.secretsDir }) });
  switch (s.secretsProvider) {
    case 'env':
      return [createEnvProvider(env)];
    case 'file':
      return [files()];
    case 'vault':
      return [vault(s)];
    case 'aws':
      return [aws(s)];
    case 'auto':
      if (s.vaultAddr !== undefined) return [vault(s)];
      if (s.awsRegion !== undefined) return [aws(s)];
      return [files(), createEnvProvider(env)];
    case 'chain':
      return [
        ...(s.vaultAddr === undefined ? [] : [vault(s)]),
        ...(s.awsRegion === undefined ? [] : [aws(s)]),
        files(),
        createEnvProvider(env),
      ];
  }
}

/** A SecretManager configured from already-loaded settings. */
export function secretManagerFromSettings(s: ProviderSettings, env: Readonly<Record<string, string | undefined>> = process.env): SecretManager {
  return new SecretManager(providersFromSettings(s, env), { cacheTtlMs: s.secretsCacheTtlMs });
}

/**
 * A SecretManager configured from the environment (variables, NAME_FILE, .env), with
 * auto-detection when WARDEN_SECRETS_PROVIDER=auto. Uses the provider settings under the real
 * profile (WARDEN_ENV), so production refuses a plain-http Vault before any request; the other
 * production checks are not applied here (refuseUnsafe: false).
 */
export function secretManagerFromEnv(options: { env?: Readonly<Record<string, string | undefined>>; envFile?: string | false } = {}): SecretManager {
  const env = options.env ?? process.env;
  const { settings } = loadSettings({
    env,
    generateDevSecrets: false,
    refuseUnsafe: false,
    ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
  });
  return secretManagerFromSettings(settings, env);
}
