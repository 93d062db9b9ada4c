// What the page knows, kept current by the event stream: every Job by
// namespace/name, and per route the last stats and a short history of rates
// and latencies for the charts.
export interface JobSummary {
  readonly name: string;
  readonly namespace: string;
  readonly requestId?: string;
  readonly route?: string;
  readonly createdAt?: string;
  readonly phase: string;
  readonly reason?: string;
  readonly active: number;
  readonly succeeded: number;
  readonly failed: number;
}

interface Sum {
  readonly sum: number;
  readonly count: number;
}

export interface RouteLive {
  readonly route: string;
  readonly namespace: string;
  readonly kind: string;
  readonly queued: number | null;
  readonly inFlight: number;
  readonly deadLettered: number | null;
  readonly received: number;
  readonly created: number;
  readonly enqueueToJob: Sum;
  readonly jobToFinished: Sum;
}

export interface Pushback {
  readonly requests: number;
  readonly throttled: number;
  readonly lastRetryAfterMs: number | null;
  readonly lastThrottledAt: number | null;
  readonly pacing:
    | { readonly mode: 'adaptive'; readonly limit: number }
    | { readonly mode: 'fixed'; readonly qps: number; readonly burst: number }
    | { readonly mode: 'none' };
}

export interface LiveSnapshot {
  readonly at: number;
  readonly routes: readonly RouteLive[];
  readonly pushback: Pushback;
}

export interface History {
  itemsPerSecond: number[];
  jobsPerSecond: number[];
  enqueueToJobMs: number[];
  jobToFinishedMs: number[];
}

const KEEP = 60;

export class Store {
  readonly jobs = new Map<string, JobSummary>();
  readonly history = new Map<string, History>();
  last: LiveSnapshot | undefined;
  /** Requests/s and 429s/s over the last interval. */
  apiRate = { requests: 0, throttled: 0 };

  upsert(job: JobSummary): void {
    const key = `${job.namespace}/${job.name}`;
    this.jobs.set(key, { ...this.jobs.get(key), ...job });
  }

  stats(next: LiveSnapshot): void {
    const prev = this.last;
    this.last = next;
    if (prev === undefined) return;
    const dt = Math.max(0.001, (next.at - prev.at) / 1000);
    this.apiRate = {
      requests: (next.pushback.requests - prev.pushback.requests) / dt,
      throttled: (next.pushback.throttled - prev.pushback.throttled) / dt,
    };
    for (const r of next.routes) {
      const p = prev.routes.find((x) => x.route === r.route);
      if (p === undefined) continue;
      const h = this.history.get(r.route) ?? {
        itemsPerSecond: [],
        jobsPerSecond: [],
        enqueueToJobMs: [],
        jobToFinishedMs: [],
      };
      push(h.itemsPerSecond, (r.received - p.received) / dt);
      push(h.jobsPerSecond, (r.created - p.created) / dt);
      push(h.enqueueToJobMs, meanMs(r.enqueueToJob, p.enqueueToJob, h.enqueueToJobMs));
      push(h.jobToFinishedMs, meanMs(r.jobToFinished, p.jobToFinished, h.jobToFinishedMs));
      this.history.set(r.route, h);
    }
  }

  jobsOf(route: string): JobSummary[] {
    return [...this.jobs.values()].filter((j) => j.route === route);
  }
}

function push(series: number[], v: number): void {
  series.push(Math.max(0, v));
  if (series.length > KEEP) series.shift();
}

/** The mean over the last interval; with nothing new, the previous mean carries on. */
function meanMs(now: Sum, before: Sum, series: readonly number[]): number {
  const n = now.count - before.count;
  if (n <= 0) return series.at(-1) ?? 0;
  return ((now.sum - before.sum) / n) * 1000;
}
