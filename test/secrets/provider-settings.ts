import type { providersFromSettings } from '../../src/secrets/secret-manager-from-settings.js';

/** Every provider setting at its default (nothing configured), for tests to override. */
export const NO_PROVIDER_SETTINGS: Omit<Parameters<typeof providersFromSettings>[0], 'secretsProvider'> = {
  secretsDir: undefined,
  vaultAddr: undefined,
  vaultToken: undefined,
  vaultRoleId: undefined,
  vaultSecretId: undefined,
  vaultNamespace: undefined,
  vaultMount: 'secret',
  vaultPath: 'warden',
  vaultCaFile: undefined,
  awsRegion: undefined,
  awsSecretPrefix: 'warden/',
  awsEndpoint: undefined,
  secretsCacheTtlMs: 0,
};
