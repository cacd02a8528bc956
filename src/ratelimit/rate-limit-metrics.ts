import { Counter, type Registry } from 'prom-client';

interface DecisionCount {
  readonly labels: { policy: string; route: string; outcome: 'allowed' | 'limited' };
  value: number;
}

/**
 * Rate-limit counters; created unregistered so that the app's registry can expose them.
 * Decisions are counted in a plain map and copied into the counter at scrape time: a labelled
 * prom-client `inc` on every request costs about a fifth of a bare route's throughput
 * (bench/README.md, HTTP hardening section).
 */
export class RateLimitMetrics {
  private readonly counts = new Map<string, DecisionCount>();
  readonly decisions: Counter<'policy' | 'route' | 'outcome'>;
  readonly storeErrors = new Counter({
    name: 'warden_ratelimit_store_errors_total',
    help: 'Rate-limit store failures (Redis errors and timeouts), by the failure policy applied.',
    labelNames: ['store', 'policy_applied'] as const,
    registers: [],
  });

  constructor() {
    const counts = this.counts;
    this.decisions = new Counter({
      name: 'warden_ratelimit_decisions_total',
      help: 'Rate-limit decisions by policy, route pattern and outcome (allowed | limited).',
      labelNames: ['policy', 'route', 'outcome'] as const,
      registers: [],
      collect() {
        this.reset();
        for (const { labels, value } of counts.values()) this.inc(labels, value);
      },
    });
  }

  /** Counts one decision (cheap: a map update). */
  recordDecision(policy: string, route: string, allowed: boolean): void {
    const id = `${policy}\u0000${route}\u0000${allowed ? 1 : 0}`;
    const entry = this.counts.get(id);
    if (entry !== undefined) entry.value += 1;
    else this.counts.set(id, { labels: { policy, route, outcome: allowed ? 'allowed' : 'limited' }, value: 1 });
  }

  /** Adds the counters to a registry (once). */
  register(registry: Registry): void {
    if (registry.getSingleMetric('warden_ratelimit_decisions_total') === undefined) registry.registerMetric(this.decisions);
    if (registry.getSingleMetric('warden_ratelimit_store_errors_total') === undefined) registry.registerMetric(this.storeErrors);
  }
}
