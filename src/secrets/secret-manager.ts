import { createHash } from 'node:crypto';
import { createChainProvider } from './chain-provider.js';
import { SecretNotFoundError, SecretProviderError, type SecretProvider } from './secret-provider.js';

export interface SecretManagerOptions {
  /** How long a fetched value is reused. 0 = always ask the provider. @default 60000 */
  readonly cacheTtlMs?: number;
  /** Clock in epoch ms. @default Date.now */
  readonly now?: () => number;
}

export interface WatchOptions {
  /** How often the provider is polled. @default 30000 */
  readonly intervalMs?: number;
  /** Called when a poll fails (the watch keeps running). Receives errors that never contain values. */
  readonly onError?: (error: Error) => void;
}

/**
 * Reads secrets through one provider (or a chain), with a TTL cache, JSON access with a key
 * path (`NAME#a.b`), and rotation watches. Values are never logged or put in errors.
 */
export class SecretManager {
  readonly provider: SecretProvider;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string | undefined; expiresAt: number }>();
  // Bumped whenever a cached value is forgotten: a read that started before (and may answer the
  // value from before a rotation) must not put it back for a whole TTL.
  #generation = 0;
  readonly #generations = new Map<string, number>();

  constructor(providers: SecretProvider | readonly SecretProvider[], options: SecretManagerOptions = {}) {
    this.provider = Array.isArray(providers)
      ? providers.length === 1
        ? (providers[0] as SecretProvider)
        : createChainProvider(providers)
      : (providers as SecretProvider);
    this.#ttl = options.cacheTtlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The names of the providers that are tried, in order. */
  get providerNames(): string[] {
    const chained = (this.provider as { providers?: readonly SecretProvider[] }).providers;
    return chained === undefined ? [this.provider.name] : chained.map((p) => p.name);
  }

  /** The value, or undefined when no provider has it. `NAME#a.b` reads a field of a JSON secret. */
  async getOptional(name: string): Promise<string | undefined> {
    const hash = name.indexOf('#');
    if (hash === -1) return this.#fetch(name);
    const raw = await this.#fetch(name.slice(0, hash));
    if (raw === undefined) return undefined;
    let node: unknown = parseJson(name.slice(0, hash), raw);
    for (const key of name.slice(hash + 1).split('.')) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    if (node === undefined || node === null) return undefined;
    return typeof node === 'string' ? node : JSON.stringify(node);
  }

  /** The value; throws SecretNotFoundError naming the secret and the providers tried. */
  async get(name: string): Promise<string> {
    const value = await this.getOptional(name);
    if (value === undefined) throw new SecretNotFoundError(name, this.providerNames);
    return value;
  }

  /** The secret parsed as JSON (throws SecretProviderError, without the value, when it is not JSON). */
  async getJson<T = unknown>(name: string): Promise<T> {
    return parseJson(name, await this.get(name)) as T;
  }

  /** Writes a secret where the backend supports it, and refreshes the cache. */
  async set(name: string, value: string): Promise<void> {
    if (this.provider.set === undefined) throw new SecretProviderError(this.provider.name, 'this provider cannot store secrets');
    await this.provider.set(name, value);
    this.#forget(cacheKey(name));
  }

  /** Secret names starting with `prefix`, where the backend can list. */
  async list(prefix = ''): Promise<string[]> {
    if (this.provider.list === undefined) throw new SecretProviderError(this.provider.name, 'this provider cannot list secrets');
    return this.provider.list(prefix);
  }

  /** Forgets cached values (all, or one name). */
  invalidate(name?: string): void {
    if (name === undefined) {
      this.#generation += 1;
      this.#cache.clear();
    } else this.#forget(cacheKey(name));
  }

  /**
   * Polls the provider (bypassing the cache) and calls `onChange` with the new value whenever
   * it differs from the last one seen (e.g. after a rotation). Returns a function that stops it.
   */
  watch(name: string, onChange: (value: string | undefined) => void, options: WatchOptions = {}): () => void {
    let last: string | undefined;
    let primed = false;
    let stopped = false;
    let polling = false;
    const poll = async (): Promise<void> => {
      // One poll at a time: a slow one that read before a rotation and answered after a later
      // one would report the retired value as a change.
      if (polling) return;
      polling = true;
      try {
        this.#forget(cacheKey(name));
        const value = await this.getOptional(name);
        const digest = value === undefined ? undefined : createHash('sha256').update(value).digest('hex');
        if (primed && digest !== last && !stopped) onChange(value);
        last = digest;
        primed = true;
      } catch (error) {
        options.onError?.(error as Error);
      } finally {
        polling = false;
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), options.intervalMs ?? 30_000);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  async #fetch(name: string): Promise<string | undefined> {
    const now = this.#now();
    const cached = this.#cache.get(name);
    if (cached !== undefined && cached.expiresAt > now) return cached.value;
    const generation = this.#generation;
    const nameGeneration = this.#generations.get(name);
    const value = await this.provider.get(name);
    // Misses are cached too (briefly, same TTL) so a missing optional secret is not re-fetched per call.
    const current = generation === this.#generation && nameGeneration === this.#generations.get(name);
    if (this.#ttl > 0 && current) this.#cache.set(name, { value, expiresAt: now + this.#ttl });
    return value;
  }

  #forget(name: string): void {
    this.#generations.set(name, (this.#generations.get(name) ?? 0) + 1);
    this.#cache.delete(name);
  }
}

function parseJson(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new SecretProviderError('json', `secret ${name} is not valid JSON`);
  }
}

// Values are cached per secret, so `DB#password` lives under `DB`: invalidating the full name would miss it.
function cacheKey(name: string): string {
  const hash = name.indexOf('#');
  return hash === -1 ? name : name.slice(0, hash);
}
