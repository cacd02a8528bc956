import { assertSecretName, type SecretProvider } from './secret-provider.js';

/** Secrets from environment variables (a copy of the record given, so `set` never touches process.env). */
export function createEnvProvider(env: Readonly<Record<string, string | undefined>> = process.env): SecretProvider {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') values.set(name, value);
  return {
    name: 'env',
    async get(name) {
      assertSecretName(name);
      return values.get(name);
    },
    async set(name, value) {
      assertSecretName(name);
      values.set(name, value);
    },
    async list(prefix) {
      return [...values.keys()].filter((n) => n.startsWith(prefix)).sort();
    },
  };
}
