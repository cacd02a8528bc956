import type { Redis } from 'ioredis';

/**
 * Why this Redis may drop Warden's keys on its own, or undefined when it will not (or cannot be
 * asked: managed services often disable CONFIG). Under memory pressure an evicting policy can
 * delete a revocation key while the `revoked:loaded` key stays, and the revoked token would
 * be accepted again: Warden needs `maxmemory-policy noeviction`, or no `maxmemory` at all.
 */
export async function redisEvictionRisk(redis: Pick<Redis, 'config'>): Promise<string | undefined> {
  let settings: unknown;
  try {
    settings = await redis.config('GET', 'maxmemory*');
  } catch {
    return undefined;
  }
  if (!Array.isArray(settings)) return undefined;
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < settings.length; i += 2) values.set(String(settings[i]), String(settings[i + 1]));
  const policy = values.get('maxmemory-policy');
  const limit = Number(values.get('maxmemory') ?? '0');
  if (policy === undefined || policy === 'noeviction' || limit === 0) return undefined;
  return `Redis evicts keys under memory pressure (maxmemory ${limit}, maxmemory-policy ${policy}): an evicted revocation would let a revoked token work again; set maxmemory-policy noeviction`;
}
