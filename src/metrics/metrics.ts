// kjd's Prometheus metrics, in a Registry owned by the instance (no global
// default registry), so tests and several services in one process each read
// their own. Labels are bounded: route names from the config, error codes,
// results; never item ids or Job names.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricSources {
  /** Read at every scrape, so the gauge is never stale. */
  readonly activeJobs?: () => number;
  /** Suspended Jobs waiting for Kueue to admit them; read at every scrape. */
  readonly queuedJobs?: () => number;
}

/** A gauge whose value is read from `read` at scrape time. */
function scrapedGauge(registry: Registry) {
  return (name: string, help: string, read: (() => number) | undefined): Gauge =>
    new Gauge({
      name,
      help,
      registers: [registry],
      ...(read !== undefined
        ? {
            collect(this: Gauge) {
              this.set(read());
            },
          }
        : {}),
    });
}

export class DispatcherMetrics {
  readonly registry = new Registry();
  readonly itemsReceived: Counter;
  readonly jobsCreated: Counter;
  readonly deadLettered: Counter;
  readonly retries: Counter;
  readonly apiErrors: Counter;
  readonly apiRequests: Counter;
  readonly routesHeld: Gauge;
  readonly createLatency: Histogram;
  readonly enqueueToCreated: Histogram;
  readonly activeJobs: Gauge;
  readonly queuedJobs: Gauge;
  readonly jobsFinished: Counter;
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;
  readonly pacingLimit: Gauge;
  readonly apiThrottled: Counter;
  readonly containerOutcomes = new Counter({
    name: 'kjd_container_outcomes_total',
    help: "Ended Jobs of one item by where their container's exit code was read: watch (kjd's watch of ended Pods), list (a list of the Job's Pods), none (no ended container found)",
    labelNames: ['source'],
    registers: [this.registry],
  });

  constructor(sources: MetricSources = {}) {
    const registers = [this.registry];
    // process_* and nodejs_* (RSS, heap, event-loop lag, GC): what an operator
    // sizes the Pod's memory limit and spots a stalled loop with.
    collectDefaultMetrics({ register: this.registry });
    const scraped = scrapedGauge(this.registry);
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name, help, labelNames, registers });
    const latency = (name: string, help: string) =>
      new Histogram({ name, help, labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.itemsReceived = counter('kjd_items_received_total', 'Items taken from a source', ['route']);
    this.jobsCreated = counter(
      'kjd_jobs_created_total',
      'Jobs made for items (outcome existing: the Job was already there for the same request)',
      ['route', 'outcome'],
    );
    this.deadLettered = counter('kjd_items_dead_lettered_total', 'Items moved to a dead-letter place', [
      'route',
      'code',
    ]);
    this.retries = counter('kjd_item_retries_total', 'Retries of an item after a retryable error', [
      'route',
      'code',
    ]);
    this.apiErrors = counter('kjd_api_errors_total', 'Kubernetes API errors by HTTP status (0: no answer)', [
      'status',
    ]);
    this.apiRequests = counter(
      'kjd_api_requests_total',
      'Kubernetes API requests by client (main: Jobs and Pods; auth: TokenReview and SubjectAccessReview) and resource',
      ['client', 'resource'],
    );
    this.apiThrottled = counter(
      'kjd_api_throttled_total',
      'Attempts the API server answered 429 (retried ones included), by the APF priority level it put them in (X-Kubernetes-PF-PriorityLevel-UID; "" if not sent)',
      ['priority_level_uid'],
    );
    this.pacingLimit = new Gauge({
      name: 'kjd_api_pacing_limit',
      help: 'Adaptive pacing: requests kjd lets be in flight to the API server now (0 with fixed pacing)',
      registers,
    });
    this.jobsFinished = counter('kjd_jobs_finished_total', 'Jobs seen finishing', ['result']);
    this.routesHeld = new Gauge({
      name: 'kjd_route_held',
      help: '1 while a route takes no items: reason configuration (RBAC, missing namespace) or capacity (quota)',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.createLatency = latency(
      'kjd_job_create_seconds',
      'Duration of the Job create call, retries included',
    );
    this.enqueueToCreated = latency(
      'kjd_enqueue_to_job_created_seconds',
      'From the item entering kjd (or its enqueue time, when known) to its Job existing',
    );
    this.activeJobs = scraped(
      'kjd_active_jobs',
      'Unfinished, unsuspended Jobs kjd manages, from its watch cache',
      sources.activeJobs,
    );
    this.queuedJobs = scraped(
      'kjd_jobs_queued',
      'Suspended Jobs kjd made, waiting for Kueue to admit them',
      sources.queuedJobs,
    );
    this.queueDepth = new Gauge({
      name: 'kjd_queue_depth',
      help: 'Items waiting in a source',
      labelNames: ['route'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'kjd_creates_in_flight',
      help: 'Items being turned into Jobs now',
      registers,
    });
  }
}
