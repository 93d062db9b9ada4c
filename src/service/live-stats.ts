// What the dashboard's live stream sends every few seconds, per route the
// subscriber may see: counts now (queued, in flight, dead-lettered), running
// totals it turns into rates (received, Jobs made, dead-lettered), latency
// sums it turns into means per interval (enqueue -> Job, Job created ->
// finished), and the API server's pushback. Totals, not rates: each client
// differences what it got, so no server-side window has to match its screen.
import type { DispatcherMetrics } from '../metrics/metrics.ts';
import type { Pushback, PushbackSnapshot } from '../metrics/pushback.ts';
import { countsOf, type RouteCounts, type RouteView } from '../server/dead-letters-api.ts';

interface Sum {
  sum: number;
  count: number;
}

export interface RouteLive extends RouteCounts {
  readonly received: number;
  readonly created: number;
  readonly deadLetteredTotal: number;
  /** Seconds, summed over every item since kjd started. */
  readonly enqueueToJob: Sum;
  readonly jobToFinished: Sum;
}

export interface LiveSnapshot {
  readonly at: number;
  readonly routes: readonly RouteLive[];
  readonly pushback: PushbackSnapshot;
}

type Values = readonly {
  value: number;
  labels: Partial<Record<string, string | number>>;
  metricName?: string;
}[];

export class LiveStats {
  readonly #routes: readonly RouteView[];
  readonly #metrics: DispatcherMetrics;
  readonly #pushback: Pushback;
  readonly #finished = new Map<string, Sum>();

  constructor(routes: readonly RouteView[], metrics: DispatcherMetrics, pushback: Pushback) {
    this.#routes = routes;
    this.#metrics = metrics;
    this.#pushback = pushback;
  }

  /** A Job of `route` finished `seconds` after it was created. */
  finished(route: string, seconds: number): void {
    const s = this.#finished.get(route) ?? { sum: 0, count: 0 };
    s.sum += seconds;
    s.count += 1;
    this.#finished.set(route, s);
  }

  async snapshot(namespaces: ReadonlySet<string>): Promise<LiveSnapshot> {
    const m = this.#metrics;
    const [received, created, dead, latency] = await Promise.all([
      m.itemsReceived.get(),
      m.jobsCreated.get(),
      m.deadLettered.get(),
      m.enqueueToCreated.get(),
    ]);
    const total = (values: Values, route: string, name?: string) =>
      values
        .filter((v) => v.labels.route === route && (name === undefined || v.metricName === name))
        .reduce((a, v) => a + v.value, 0);
    const routes: RouteLive[] = [];
    for (const r of this.#routes) {
      if (!namespaces.has(r.namespace)) continue;
      routes.push({
        ...(await countsOf(r)),
        received: total(received.values, r.name),
        created: total(
          created.values.filter((v) => v.labels.outcome === 'created'),
          r.name,
        ),
        deadLetteredTotal: total(dead.values, r.name),
        enqueueToJob: {
          sum: total(latency.values, r.name, 'kjd_enqueue_to_job_created_seconds_sum'),
          count: total(latency.values, r.name, 'kjd_enqueue_to_job_created_seconds_count'),
        },
        jobToFinished: { ...(this.#finished.get(r.name) ?? { sum: 0, count: 0 }) },
      });
    }
    return { at: Date.now(), routes, pushback: this.#pushback.snapshot() };
  }
}
