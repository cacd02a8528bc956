import { expect, it, vi } from 'vitest';
import { SecretManager } from '../../src/secrets/secret-manager.js';
import type { SecretProvider } from '../../src/secrets/secret-provider.js';

// A rotated secret must read as the new value as soon as `set()` or `invalidate()` returns, even
// when a read that started before is still on its way: that read may answer the old value, but it
// must not put it back in the cache for a whole TTL. A watch never reports an older value after a
// newer one, however slow the backend.

/** A provider whose reads the test releases one by one; each answers the value current when it started. */
function gatedProvider(initial: string) {
  let value = initial;
  const pending: (() => void)[] = [];
  const provider: SecretProvider = {
    name: 'gated',
    async get() {
      const seen = value;
      await new Promise<void>((resolve) => pending.push(resolve));
      return seen;
    },
    async set(_name, next) {
      value = next;
    },
  };
  return { provider, pending, rotate: (next: string) => void (value = next) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function readReleasing(manager: SecretManager, pending: (() => void)[], name: string): Promise<string> {
  const read = manager.get(name);
  await settle();
  pending.shift()?.();
  return read;
}

it('a read that started before set() does not put the old value back in the cache', async () => {
  const { provider, pending } = gatedProvider('old-value');
  const manager = new SecretManager(provider, { cacheTtlMs: 60_000 });
  const slowRead = manager.get('API_TOKEN');
  await settle();
  await manager.set('API_TOKEN', 'new-value');
  pending.shift()!();
  expect(await slowRead).toBe('old-value');
  expect(await readReleasing(manager, pending, 'API_TOKEN')).toBe('new-value');
});

it('a read that started before invalidate(name) or invalidate() does not put the old value back', async () => {
  for (const invalidate of [
    (m: SecretManager) => m.invalidate('API_TOKEN'),
    (m: SecretManager) => m.invalidate(),
  ]) {
    const { provider, pending, rotate } = gatedProvider('old-value');
    const manager = new SecretManager(provider, { cacheTtlMs: 60_000 });
    const slowRead = manager.get('API_TOKEN#field');
    await settle();
    rotate('{"field":"new-value"}');
    invalidate(manager);
    pending.shift()!();
    await slowRead.catch(() => undefined);
    const after = manager.get('API_TOKEN#field');
    await settle();
    pending.shift()?.();
    expect(await after).toBe('new-value');
  }
});

it('an undisturbed read is still cached', async () => {
  const { provider, pending } = gatedProvider('value');
  const manager = new SecretManager(provider, { cacheTtlMs: 60_000 });
  expect(await readReleasing(manager, pending, 'API_TOKEN')).toBe('value');
  expect(await manager.get('API_TOKEN')).toBe('value');
  expect(pending).toHaveLength(0);
});

it('a watch polls once at a time, and never reports an older value after a newer one', async () => {
  vi.useFakeTimers();
  try {
    const { provider, pending, rotate } = gatedProvider('v1');
    const manager = new SecretManager(provider, { cacheTtlMs: 60_000 });
    const seen: (string | undefined)[] = [];
    const stop = manager.watch('API_TOKEN', (value) => seen.push(value), { intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(0);
    pending.shift()!(); // the priming poll: v1
    await vi.advanceTimersByTimeAsync(1000); // the second poll reads v1 and is held by a slow backend
    const slow = pending.shift()!;
    rotate('v2');
    await vi.advanceTimersByTimeAsync(3000); // ticks while it is held start no other poll
    expect(pending).toHaveLength(0);
    slow();
    await vi.advanceTimersByTimeAsync(1000); // the next poll reads v2
    pending.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    stop();
    expect(seen).toEqual(['v2']);
  } finally {
    vi.useRealTimers();
  }
});
