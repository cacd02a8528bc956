import type { Registry } from 'prom-client';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Series {
  readonly labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  readonly buckets: number[];
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * HTTP request counts and durations by method, route pattern and status. prom-client's
 * labelled metrics hash the label object on every observation (about a fifth of a bare
 * route's throughput); here a request costs one Map lookup and a few additions, and the
 * Prometheus series are rendered only when /metrics is scraped.
 */
export class HttpMetrics {
  // route → method → status. Route and method strings are the same objects on every request,
  // so their hashes are cached; a concatenated key would be a new string to hash each time.
  private readonly byRoute = new Map<string, Map<string, Map<number, Series>>>();
  private readonly series: Series[] = [];

  /** Records one finished request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let entry = byStatus.get(status);
    if (entry === undefined) {
      entry = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
      byStatus.set(status, entry);
      this.series.push(entry);
    }
    entry.count += 1;
    entry.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] as number)) (entry.buckets[i] as number)++;
  }

  /** Registers `warden_http_requests_total` and `warden_http_request_duration_seconds` in a registry. */
  register(registry: Registry): void {
    const counterName = 'warden_http_requests_total';
    const histogramName = 'warden_http_request_duration_seconds';
    const counter = {
      name: counterName,
      get: async () => ({
        name: counterName,
        help: 'HTTP requests by method, route and status',
        type: 'counter',
        aggregator: 'sum',
        values: this.series.map((s): MetricValue => ({ labels: s.labels, value: s.count })),
      }),
    };
    const histogram = {
      name: histogramName,
      get: async () => {
        const values: MetricValue[] = [];
        for (const s of this.series) {
          BUCKETS.forEach((le, i) =>
            values.push({ labels: { ...s.labels, le }, value: s.buckets[i] as number, metricName: `${histogramName}_bucket` }),
          );
          values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${histogramName}_bucket` });
          values.push({ labels: s.labels, value: s.sum, metricName: `${histogramName}_sum` });
          values.push({ labels: s.labels, value: s.count, metricName: `${histogramName}_count` });
        }
        return { name: histogramName, help: 'HTTP request duration by method, route and status', type: 'histogram', aggregator: 'sum', values };
      },
    };
    // The registry only needs `name` and `get()`; prom-client's types want a full Metric.
    registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}
