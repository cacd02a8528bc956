/**
 * Runs `load` for `key` unless a load of that key is already running, in which case its promise
 * is shared: requests that miss a cache at the same moment cost one read, not one each. The
 * entry is forgotten when the load settles; clearing `running` (on an invalidation) keeps a load
 * begun before a change from being joined after it.
 */
export function sharedLoad<K, V>(running: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  const existing = running.get(key);
  if (existing !== undefined) return existing;
  const promise = load().finally(() => {
    if (running.get(key) === promise) running.delete(key);
  });
  running.set(key, promise);
  return promise;
}
