// kjd's Prometheus metrics, in a Registry owned by the instance (no global
// default registry), so tests and several services in one process each read
// their own. Labels are bounded: route names from the config, error codes,
// results; never item ids or Job names.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class DispatcherMetrics {
  readonly registry = new Registry();
  readonly itemsReceived = new Counter({
    name: 'kjd_items_received_total',
    help: 'Items taken from a source',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly jobsCreated = new Counter({
    name: 'kjd_jobs_created_total',
    help: 'Jobs created (a create that found the Job already there for the same request counts as existing)',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'kjd_items_dead_lettered_total',
    help: 'Items moved to a dead-letter place',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'kjd_item_retries_total',
    help: 'Retries of an item after a retryable error',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });
  readonly apiErrors = new Counter({
    name: 'kjd_api_errors_total',
    help: 'Kubernetes API errors by HTTP status (0: no answer)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly createLatency = new Histogram({
    name: 'kjd_job_create_seconds',
    help: 'Duration of the Job create call, retries included',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly enqueueToCreated = new Histogram({
    name: 'kjd_enqueue_to_job_created_seconds',
    help: 'From the item entering kjd (or its enqueue time, when known) to its Job existing',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly activeJobs = new Gauge({
    name: 'kjd_active_jobs',
    help: 'Unfinished Jobs kjd manages, from its watch cache',
    registers: [this.registry],
  });
  readonly jobsFinished = new Counter({
    name: 'kjd_jobs_finished_total',
    help: 'Jobs seen finishing',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'kjd_queue_depth',
    help: 'Items waiting in a source',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'kjd_creates_in_flight',
    help: 'Items being turned into Jobs now',
    registers: [this.registry],
  });
}
