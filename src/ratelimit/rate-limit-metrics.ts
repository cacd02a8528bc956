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
  private readonly counts: DecisionCount[] = [];
  // policy → route → [allowed, limited]: policy and route are the same string objects on every
  // request, so their hashes are cached; a joined key would be a new string to hash each time.
  private readonly byPolicy = new Map<string, Map<string, [DecisionCount | undefined, DecisionCount | undefined]>>();
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
        for (const { labels, value } of counts) this.inc(labels, value);
      },
    });
  }

  /** Counts one decision (cheap: a map update). */
  recordDecision(policy: string, route: string, allowed: boolean): void {
    let byRoute = this.byPolicy.get(policy);
    if (byRoute === undefined) this.byPolicy.set(policy, (byRoute = new Map()));
    let pair = byRoute.get(route);
    if (pair === undefined) byRoute.set(route, (pair = [undefined, undefined]));
    const slot = allowed ? 0 : 1;
    const entry = pair[slot];
    if (entry !== undefined) entry.value += 1;
    else {
      const created: DecisionCount = { labels: { policy, route, outcome: allowed ? 'allowed' : 'limited' }, value: 1 };
      pair[slot] = created;
      this.counts.push(created);
    }
  }

  /** Adds the counters to a registry (once). */
  register(registry: Registry): void {
    if (registry.getSingleMetric('warden_ratelimit_decisions_total') === undefined) registry.registerMetric(this.decisions);
    if (registry.getSingleMetric('warden_ratelimit_store_errors_total') === undefined) registry.registerMetric(this.storeErrors);
  }
}
