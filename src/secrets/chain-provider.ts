import type { SecretProvider } from './secret-provider.js';

/**
 * Tries providers in order: `get` returns the first value found; `list` merges every provider
 * that can list; `set` writes to the first provider that can write.
 */
export function createChainProvider(providers: readonly SecretProvider[]): SecretProvider & { readonly providers: readonly SecretProvider[] } {
  const writable = providers.find((p) => p.set !== undefined);
  const listable = providers.filter((p) => p.list !== undefined);
  return {
    name: `chain(${providers.map((p) => p.name).join(', ')})`,
    providers,
    async get(name) {
      for (const provider of providers) {
        const value = await provider.get(name);
        if (value !== undefined) return value;
      }
      return undefined;
    },
    ...(writable?.set === undefined ? {} : { set: (name: string, value: string) => writable.set!(name, value) }),
    ...(listable.length === 0
      ? {}
      : {
          async list(prefix: string) {
            const names = new Set<string>();
            for (const provider of listable) for (const n of await provider.list!(prefix)) names.add(n);
            return [...names].sort();
          },
        }),
  };
}
