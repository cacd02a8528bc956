/**
 * A route option that Fastify accepts as one value or a list (`method`, `onRequest`,
 * `preHandler`, …) as a list, so that hooks added in `onRoute` can be put before or after it.
 */
export function asArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}
