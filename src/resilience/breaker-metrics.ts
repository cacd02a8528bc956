import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus series shared by every circuit breaker of one registry (labelled by breaker name). */
export interface BreakerMetrics {
  readonly calls: Counter<'breaker' | 'outcome'>;
  readonly state: Gauge<'breaker'>;
  readonly fallbacks: Counter<'breaker' | 'result'>;
}

// A registry rejects a second metric of the same name, and several breakers share one registry.
const byRegistry = new WeakMap<Registry, BreakerMetrics>();

/** The breaker series of `registry`, registered on first use. */
export function breakerMetrics(registry: Registry): BreakerMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const created: BreakerMetrics = {
    calls: new Counter({
      name: 'warden_breaker_calls_total',
      help: 'Calls through a circuit breaker by outcome (success, failure, timeout, rejected).',
      labelNames: ['breaker', 'outcome'],
      registers: [registry],
    }),
    state: new Gauge({
      name: 'warden_breaker_state',
      help: 'Circuit state: 0 closed, 1 open, 2 half-open, 3 isolated.',
      labelNames: ['breaker'],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'warden_breaker_fallbacks_total',
      help: 'Failed or rejected calls answered from the fallback cache (stale) or not (none).',
      labelNames: ['breaker', 'result'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, created);
  return created;
}
