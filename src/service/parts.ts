// The pieces of `kjd serve` built from its configuration alone, kept out of
// DispatcherService's constructor so that it reads as the wiring it is.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { KubeClient } from '../kube/client.ts';
import { KubeNotFoundError } from '../kube/errors.ts';
import { AdaptiveLimit } from '../kube/pacing.ts';
import type { RateLimit } from '../kube/rate-limiter.ts';
import type { JobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { ANNOTATION_ID_SCOPE, ANNOTATION_REQUEST_ID } from '../kube/labels.ts';
import type { DispatcherMetrics } from '../metrics/metrics.ts';
import type { Pushback } from '../metrics/pushback.ts';
import type { JobEvent } from '../server/event-hub.ts';
import { layoutFor, type RedisClient } from '../sources/redis-connection.ts';
import { CleanupSweeper } from '../tracking/cleanup-sweeper.ts';
import { RedisResults } from '../tracking/results.ts';
import { InFlightRecords } from '../tracking/in-flight.ts';
import { BatchClaims } from '../dispatch/batch-claims.ts';
import { PodOutcomes } from '../tracking/pod-outcomes.ts';
import { checkAccess, ruleName } from '../kube/access.ts';

export function kubeClientFor(
  k: ServeConfig['kubernetes'],
  env: Readonly<Record<string, string | undefined>>,
  metrics: DispatcherMetrics,
  pushback?: Pushback,
): KubeClient {
  const pacing = pacingFor(k);
  pushback?.readPacingFrom(() =>
    'pacing' in pacing
      ? { mode: 'adaptive', limit: pacing.pacing.limit }
      : { mode: 'fixed', ...pacing.rateLimit },
  );
  return KubeClient.connect({
    env,
    mode: k.mode,
    ...(k.kubeconfig !== undefined ? { kubeconfig: k.kubeconfig } : {}),
    ...(k.context !== undefined ? { context: k.context } : {}),
    ...(k.namespace !== undefined ? { namespace: k.namespace } : {}),
    // Where the Pod's ServiceAccount files are (tests emulate a Pod in a temp dir).
    ...(env.KJD_SERVICE_ACCOUNT_DIR !== undefined ? { serviceAccountDir: env.KJD_SERVICE_ACCOUNT_DIR } : {}),
    transport: {
      ...pacing,
      connections: k.connections,
      timeoutMs: k.requestTimeoutMs,
      onRequest: (e) => {
        pushback?.observe(e);
        metrics.apiRequests.inc({ client: 'main', resource: e.resource ?? 'other' });
        if ('pacing' in pacing) metrics.pacingLimit.set(pacing.pacing.limit);
        if (e.throttled > 0)
          metrics.apiThrottled.inc({ priority_level_uid: e.priorityLevelUid ?? '' }, e.throttled);
        if (e.status === 0 || e.status >= 400) metrics.apiErrors.inc({ status: String(e.status) });
      },
    },
  });
}

/**
 * Adaptive pacing's ceiling unless configured. The API server divides its CPU
 * by requests in flight, so this is kjd's share of a busy shared server: beside
 * a neighbour with 32 in flight, kjd at 128 left it 0.25x of its Jobs/s, at 32
 * about half (bench/tenant-notes.md). Alone it costs kjd ~5 % of its Jobs/s
 * on a core of its own, and far more on the API server's own cores
 * (docs/adr/0005-adaptive-pacing.md).
 */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/** Adaptive unless asked for a fixed rate (or given qps/burst, as before pacing existed). */
export function pacingFor(
  k: ServeConfig['kubernetes'],
): { rateLimit: RateLimit } | { pacing: AdaptiveLimit } {
  const mode = k.pacing ?? (k.qps !== undefined || k.burst !== undefined ? 'fixed' : 'adaptive');
  if (mode === 'fixed') return { rateLimit: { qps: k.qps ?? 200, burst: k.burst ?? 400 } };
  return {
    pacing: new AdaptiveLimit({ maxLimit: Math.min(k.connections, k.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) }),
  };
}

/**
 * The client for TokenReview and SubjectAccessReview: the same connection,
 * its own pool and rate limit, and one retry, so a flood of bogus tokens
 * spends its budget and never the one Job creates need.
 */
export function authClientFor(main: KubeClient, qps: number, metrics: DispatcherMetrics): KubeClient {
  return new KubeClient(main.connection, {
    rateLimit: { qps, burst: Math.max(1, Math.ceil(qps * 2)) },
    connections: 8,
    timeoutMs: 10_000,
    backoff: { maxRetries: 1, baseMs: 100, maxMs: 1000 },
    onRequest: (e) => {
      metrics.apiRequests.inc({ client: 'auth', resource: e.resource ?? 'other' });
    },
  });
}

/**
 * This replica's name in Redis: the one given, else KJD_REPLICA_ID, else
 * POD_NAME (the chart sets it from the Pod's name), else hostname + a random
 * suffix. A stable name lets a restarted container take back at once what
 * its previous run held, instead of waiting for its heartbeat to expire.
 */
export function replicaIdFrom(env: Readonly<Record<string, string | undefined>>, given?: string): string {
  const stable = given ?? env.KJD_REPLICA_ID ?? env.POD_NAME;
  if (stable !== undefined && stable !== '') return stable.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${hostname().replace(/[^a-zA-Z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

/**
 * The sweeper that deletes finished Jobs: all of them when `cleanup` is
 * configured, and those whose template's TTL kjd took over (ADR 0009).
 */
export function cleanupFor(
  cleanup: ServeConfig['cleanup'],
  jobs: JobOperations,
  log: Logger,
): CleanupSweeper {
  const propagation = cleanup?.propagation ?? 'Background';
  return new CleanupSweeper({
    ...(cleanup !== undefined ? { afterSeconds: cleanup.afterSeconds } : {}),
    remove: (job, signal) =>
      jobs.delete(job.name, { namespace: job.namespace, propagation, signal }).then(
        () => {
          log.info({ jobName: job.name }, 'finished Job cleaned up');
        },
        (err: unknown) => {
          if (!(err instanceof KubeNotFoundError) && !signal.aborted)
            log.warn({ err, jobName: job.name }, 'cleanup failed');
        },
      ),
  });
}

/** The in-flight records of Jobs of one item (ADR 0009), unless the finalizer holds them. */
export function inFlightFor(config: ServeConfig, redis: RedisClient): InFlightRecords | undefined {
  if (config.results.holdWith !== 'record') return undefined;
  const { waitForReplicas } = config.redis;
  return new InFlightRecords({
    redis,
    instance: config.instance,
    ...(waitForReplicas !== undefined ? { waitForReplicas } : {}),
  });
}

/** A Job's state change as the event stream (SSE) sends it. */
export function jobEvent(job: V1Job, state: JobState): JobEvent {
  const requestId = job.metadata?.annotations?.[ANNOTATION_REQUEST_ID];
  const route = job.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
  const created = job.metadata?.creationTimestamp;
  return {
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    phase: state.phase,
    active: state.active,
    succeeded: state.succeeded,
    failed: state.failed,
    ...(requestId !== undefined ? { requestId } : {}),
    ...(route !== undefined ? { route } : {}),
    ...(created !== undefined ? { createdAt: new Date(created).toISOString() } : {}),
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
  };
}

/** Where results go: the key layout and replica wait follow the Redis configuration. */
export function resultsFor(config: ServeConfig, redis: RedisClient): RedisResults {
  const { waitForReplicas } = config.redis;
  return new RedisResults({
    redis,
    layout: layoutFor(config.redis),
    ...(waitForReplicas !== undefined ? { waitForReplicas } : {}),
    ...config.results,
  });
}

/** Batch routes' claims: beside the results, in their layout, kept as long. */
export function batchClaimsFor(config: ServeConfig, redis: RedisClient): BatchClaims {
  return new BatchClaims({ redis, layout: layoutFor(config.redis), ttlSeconds: config.results.ttlSeconds });
}

/** The Pods watch results read exit codes from, over the namespaces the routes use. */
export function podOutcomesFor(
  config: ServeConfig,
  client: KubeClient,
  jobs: JobOperations,
  namespaces: readonly string[],
  log: Logger,
): PodOutcomes {
  return new PodOutcomes({
    jobs,
    transport: client.transport,
    namespaces,
    logger: log.child({ component: 'pods' }),
    watchIdleMs: config.kubernetes.watchIdleSeconds * 1000,
  });
}

/** The rules kjd lacks in `namespaces`, one line each (`create jobs.batch in ns`); empty when none. */
export async function missingPermissions(
  client: KubeClient,
  namespaces: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];
  for (const ns of namespaces) {
    for (const r of await checkAccess(client, ns)) {
      if (!r.allowed) missing.push(`${r.verb} ${ruleName(r)}${r.group === '' ? '' : `.${r.group}`} in ${ns}`);
    }
  }
  return missing;
}
