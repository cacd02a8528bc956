export { SecretManager, type SecretManagerOptions, type WatchOptions } from './secret-manager.js';
export { SecretNotFoundError, SecretProviderError, type SecretProvider } from './secret-provider.js';
export { createEnvProvider } from './env-provider.js';
export { createFileProvider, type FileProviderOptions } from './file-provider.js';
export { createVaultProvider, type VaultProviderOptions } from './vault-provider.js';
export { createAwsProvider, type AwsProviderOptions } from './aws-provider.js';
export { createChainProvider } from './chain-provider.js';
export { providersFromSettings, secretManagerFromEnv, secretManagerFromSettings } from './secret-manager-from-settings.js';
export { resolveServiceSecrets } from './resolve-service-secrets.js';
