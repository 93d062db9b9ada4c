// The composition root of `kjd serve`: connection, templates, sources,
// tracker, results, dispatcher, metrics and the ops endpoints, with one
// lifecycle. create() validates and connects nothing long-running; start()
// starts; stop() is ordered (intake -> creates in flight -> tracker -> Redis
// -> HTTP -> API pool), each step isolated, idempotent. No signal handlers:
// those belong to the process entry (`kjd serve`).
import type { Writable } from 'node:stream';
import type { V1Job } from '@kubernetes/client-node';
import type { JobState } from '../kube/job-status.ts';
import type { Logger } from 'pino';
import { ConfigError, type ServeConfig } from '../config/serve-config.ts';
import type { BatchClaims } from '../dispatch/batch-claims.ts';
import { Dispatcher, type Route } from '../dispatch/dispatcher.ts';
import type { ItemLimits } from '../dispatch/item-limits.ts';
import type { KubeClient } from '../kube/client.ts';
import { Authenticator } from '../server/auth.ts';
import { earlyAuthentication } from '../server/early-refusal.ts';
import { DEFAULT_EVENT_STREAM_LIMITS } from '../server/event-stream.ts';
import { JobOperations } from '../kube/jobs.ts';
import { ANNOTATION_ID_SCOPE, FINALIZER_RESULT, LABEL_INSTANCE } from '../kube/labels.ts';
import { DispatcherMetrics } from '../metrics/metrics.ts';
import { EventHub } from '../server/event-hub.ts';
import { jobsApi } from '../server/jobs-api.ts';
import { listen, opsApp, type OpsServer, type ReadyReport } from '../server/ops-server.ts';
import { JobTracker, type JobRef } from '../tracking/job-tracker.ts';
import type { RedisResults } from '../tracking/results.ts';
import type { CleanupSweeper } from '../tracking/cleanup-sweeper.ts';
import type { InFlightRecords } from '../tracking/in-flight.ts';
import { reconcileInFlight } from '../tracking/reconcile.ts';
import { ResultRecorder } from '../tracking/result-recorder.ts';
import type { PodOutcomes } from '../tracking/pod-outcomes.ts';
import { loadTemplate, type JobTemplate } from '../template/index.ts';
import type { WorkSource } from '../sources/source.ts';
import { buildSource } from './build-sources.ts';
import { isAborted, sleep } from '../time/sleep.ts';
import { connectRedis, type RedisClient } from '../sources/redis-connection.ts';
import type { RouteView } from '../server/dead-letters-api.ts';
import { routeViews } from './route-views.ts';
import { LiveStats } from './live-stats.ts';
import { Pushback } from '../metrics/pushback.ts';
import { streamJobLogs } from '../kube/logs.ts';
import { jobEvents } from '../kube/events.ts';
import { loadUiAssets, uiApp } from '../server/ui-assets.ts';
import {
  authClientFor,
  batchClaimsFor,
  cleanupFor,
  inFlightFor,
  jobEvent,
  kubeClientFor,
  missingPermissions,
  podOutcomesFor,
  replicaIdFrom,
  resultsFor,
} from './parts.ts';

/** How often /v1/events sends the dashboard's counts and rates. */
const LIVE_STATS_EVERY_MS = 2000;

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ServiceDeps {
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Default: KJD_REPLICA_ID, else POD_NAME (the chart sets both from the Pod's
   * name), else hostname + random suffix. A stable id lets a restarted
   * container take its own unacknowledged items back at once.
   */
  readonly replicaId?: string;
}

export class DispatcherService {
  readonly metrics = new DispatcherMetrics({
    activeJobs: () => this.#tracker.active,
    queuedJobs: () => this.#tracker.queued,
  });
  readonly replicaId: string;
  readonly client: KubeClient;
  readonly results: RedisResults;
  /** Batch routes' claims (batch-claims.ts); the result recorder forgets them. */
  readonly batchClaims: BatchClaims;
  readonly events = new EventHub();
  #state: ServiceState = 'created';
  readonly #config: ServeConfig;
  readonly #log: Logger;
  readonly #redis: RedisClient;
  readonly #blocking: RedisClient[];
  readonly #dispatcher: Dispatcher;
  readonly #tracker: JobTracker;
  readonly #podOutcomes: PodOutcomes;
  readonly #namespaces: readonly string[];
  readonly #routes: readonly Route[];
  readonly #routeViews: readonly RouteView[];
  readonly #pushback: Pushback;
  readonly #live: LiveStats;
  readonly #jobs: JobOperations;
  /** TokenReview and SubjectAccessReview: their own pool and budget, never the creates'. */
  readonly #authClient: KubeClient;
  #missingPermissions: string[] | undefined;
  #server: OpsServer | undefined;
  #depthTimer: NodeJS.Timeout | undefined;
  readonly #recorder: ResultRecorder;
  readonly #sweeper: CleanupSweeper;
  readonly #inFlight: InFlightRecords | undefined;
  /** The check of in-flight records against the cluster after the first sync (reconcile.ts). */
  #reconciling: Promise<void> | undefined;
  readonly #lifetime = new AbortController();
  #stopping: Promise<void> | undefined;

  static async create(config: ServeConfig, deps: ServiceDeps): Promise<DispatcherService> {
    const templates = await Promise.all(config.routes.map((r) => loadTemplate(r.template)));
    checkBatchTemplates(config, templates);
    return new DispatcherService(config, deps, templates);
  }

  private constructor(
    config: ServeConfig,
    deps: ServiceDeps,
    templates: Awaited<ReturnType<typeof loadTemplate>>[],
  ) {
    this.#config = config;
    this.#log = deps.logger;
    this.replicaId = replicaIdFrom(deps.env, deps.replicaId);
    this.#pushback = new Pushback();
    this.client = kubeClientFor(config.kubernetes, deps.env, this.metrics, this.#pushback);
    this.#redis = connectRedis(config.redis, 'commands');
    this.results = resultsFor(config, this.#redis);
    this.batchClaims = batchClaimsFor(config, this.#redis);
    this.#inFlight = inFlightFor(config, this.#redis);
    const jobs = new JobOperations(this.client);
    this.#blocking = [];
    const routes = buildRoutes(config, templates, this.client.namespace, (r) => {
      const built = buildSource(r, this.#redis, config.redis, this.replicaId, this.#log);
      if (built !== undefined) this.#blocking.push(built.blocking);
      return built?.source;
    });
    this.#routes = routes;
    this.#jobs = jobs;
    const inFlight = (route: string) => this.#dispatcher.inFlightFor(route);
    this.#routeViews = routeViews(config, routes, {
      redis: this.#redis,
      results: this.results,
      jobs,
      inFlight,
    });
    this.#live = new LiveStats(this.#routeViews, this.metrics, this.#pushback);
    this.#namespaces = [...new Set(routes.flatMap((r) => [r.namespace, ...(r.callerNamespaces ?? [])]))];
    this.#authClient = authClientFor(this.client, config.http.auth.reviewQps, this.metrics);
    this.#tracker = this.#trackerFor(config, jobs);
    this.#podOutcomes = podOutcomesFor(config, this.client, jobs, this.#namespaces, this.#log);
    this.#sweeper = cleanupFor(config.cleanup, jobs, this.#log.child({ component: 'cleanup' }));
    this.#recorder = new ResultRecorder({
      jobs,
      results: this.results,
      batchClaims: this.batchClaims,
      logger: this.#log.child({ component: 'results' }),
      cleanup: this.#sweeper,
      ...(this.#inFlight !== undefined ? { records: this.#inFlight } : {}),
      podOutcomes: this.#podOutcomes,
      onOutcome: (source) => {
        this.metrics.containerOutcomes.inc({ source });
      },
    });
    const { limits } = config;
    this.#dispatcher = new Dispatcher({
      routes,
      jobs,
      limits: { ...limits, item: itemLimitsOf(limits) },
      jobLabels: { [LABEL_INSTANCE]: config.instance },
      jobFinalizers: [FINALIZER_RESULT],
      ...(this.#inFlight !== undefined ? { inFlight: this.#inFlight } : {}),
      alreadyDone: (requestId, idScope) => this.results.exists(requestId, idScope),
      batchClaims: this.batchClaims,
      metrics: this.metrics,
      logger: this.#log.child({ component: 'dispatcher' }),
      activeJobs: () => this.#tracker.active,
      synced: () => this.#tracker.synced,
      onCreated: (job) => {
        this.#tracker.track(job);
      },
    });
  }

  /** The Job watch, with what each of its reports sets going. */
  #trackerFor(config: ServeConfig, jobs: JobOperations): JobTracker {
    return new JobTracker({
      jobs,
      transport: this.client.transport,
      namespaces: this.#namespaces,
      logger: this.#log.child({ component: 'tracker' }),
      instance: config.instance,
      watchIdleMs: config.kubernetes.watchIdleSeconds * 1000,
      onFinished: (job, state) => {
        this.#finished(job, state);
      },
      onIndexesEnded: (job) => {
        this.#recorder.indexesEnded(job);
      },
      onVanished: (ref) => {
        this.#vanished(ref);
      },
      onChange: (job, state) => {
        this.events.publish(jobEvent(job, state));
      },
    });
  }

  get state(): ServiceState {
    return this.#state;
  }

  get url(): string | undefined {
    return this.#server?.url;
  }

  #transition(to: ServiceState): void {
    this.#log.info({ from: this.#state, to }, `service ${to}`);
    this.#state = to;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`start() in state ${this.#state}`);
    this.#transition('starting');
    const { http } = this.#config;
    const auth = new Authenticator({
      settings: http.auth,
      client: this.#authClient,
      reviewsPerClient: {
        qps: http.auth.newTokensPerClientPerSecond,
        burst: Math.max(1, Math.ceil(http.auth.newTokensPerClientPerSecond * 4)),
      },
    });
    const early = earlyAuthentication(auth);
    const api = jobsApi({
      dispatcher: this.#dispatcher,
      routes: this.#routes.filter((r) => r.source === undefined),
      jobs: this.#jobs,
      results: this.results,
      events: this.events,
      auth,
      early,
      maxBodyBytes: http.maxBodyBytes,
      defaultNamespace: this.#routes[0]?.namespace ?? this.client.namespace,
      watchedNamespaces: this.#namespaces,
      eventLimits: { ...DEFAULT_EVENT_STREAM_LIMITS, maxSubscribers: http.maxEventSubscribers },
      routeViews: this.#routeViews,
      logs: (name, namespace, out, options) =>
        streamJobLogs(this.client, this.#jobs, name, out as Writable, { namespace, ...options }),
      jobEvents: (name, namespace, signal) => jobEvents(this.client, this.#jobs, name, namespace, signal),
      stats: { read: (namespaces) => this.#live.snapshot(namespaces), everyMs: LIVE_STATS_EVERY_MS },
    });
    const ui = uiApp(await loadUiAssets());
    this.#server = await listen(
      opsApp({ ready: () => this.ready(), registry: this.metrics.registry, api, ui }),
      this.#config.http.listen,
      (req, res) => early.handle(req, res),
    );
    await this.#checkPermissions();
    for (const watch of [this.#tracker, this.#podOutcomes]) watch.start();
    this.#reconciling = this.#reconcile();
    await this.#dispatcher.start();
    this.#depthTimer = setInterval(() => void this.#sampleDepth(), 5000);
    this.#depthTimer.unref();
    this.#transition('running');
  }

  /**
   * Once the watch has synced: records of Jobs deleted while no kjd ran get
   * their `Deleted` result. Retried until it has run once, or kjd stops.
   */
  async #reconcile(): Promise<void> {
    const records = this.#inFlight;
    if (records === undefined) return;
    const signal = this.#lifetime.signal;
    const log = this.#log.child({ component: 'reconcile' });
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        while (!this.#tracker.synced) await sleep(100, signal);
        await reconcileInFlight({
          records,
          jobs: this.#jobs,
          tracker: this.#tracker,
          namespaces: this.#namespaces,
          gone: (ref) => {
            this.#vanished(ref);
          },
          logger: log,
          signal,
        });
        return;
      } catch (err) {
        if (isAborted(signal)) return;
        log.warn({ err, attempt }, 'checking in-flight records failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)), signal).catch(() => undefined);
      }
    }
  }

  /** A Job went before it finished (seen by the watch, or found gone at start): its item's result is Deleted. */
  #vanished(ref: JobRef): void {
    this.metrics.jobsFinished.inc({ result: 'Deleted' });
    this.#recorder.vanished(ref);
  }

  #finished(job: V1Job, state: JobState): void {
    this.metrics.jobsFinished.inc({ result: state.phase });
    this.#recordRunTime(job, state.completionTime);
    this.#recorder.finished(job, state);
  }

  /** Created -> finished, per route, for the dashboard's latency chart. */
  #recordRunTime(job: V1Job, completionTime: string | undefined): void {
    const route = job.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
    const created = job.metadata?.creationTimestamp;
    if (route === undefined || created === undefined) return;
    const end = completionTime === undefined ? Date.now() : Date.parse(completionTime);
    this.#live.finished(route, Math.max(0, end - new Date(created).getTime()) / 1000);
  }

  async #checkPermissions(): Promise<void> {
    const missing = (this.#missingPermissions = await missingPermissions(this.client, this.#namespaces));
    if (missing.length > 0)
      this.#log.error({ missing }, 'permissions missing: run `kjd check` for the Role to apply');
  }

  async #sampleDepth(): Promise<void> {
    this.metrics.routesHeld.reset();
    for (const h of this.#dispatcher.heldRoutes())
      this.metrics.routesHeld.set({ route: h.route, reason: h.problem.category }, 1);
    for (const r of this.#routes) {
      // Best effort: a Redis blip must not disturb anything else.
      const depth = await r.source?.depth().catch(() => undefined);
      if (depth !== undefined) this.metrics.queueDepth.set({ route: r.name }, depth);
    }
  }

  ready(): ReadyReport {
    const missing = this.#missingPermissions;
    const checks = {
      kubernetes: {
        ok: this.#tracker.synced,
        detail: this.#tracker.synced
          ? `${this.#tracker.tracked} Jobs in the watch cache`
          : 'watch cache not synced',
      },
      redis: { ok: this.#redis.status === 'ready', detail: this.#redis.status },
      rbac: {
        ok: missing !== undefined && missing.length === 0,
        detail:
          missing === undefined
            ? 'not checked yet'
            : missing.length === 0
              ? 'all granted'
              : `missing: ${missing.join(', ')}`,
      },
      routes: routesCheck(this.#dispatcher.heldRoutes()),
      running: { ok: this.#state === 'running', detail: this.#state },
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Stops in order; safe to call more than once and from any state. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#transition('stopping');
    const step = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        this.#log.error({ err, step: name }, 'stop step failed');
      }
    };
    if (this.#depthTimer) clearInterval(this.#depthTimer);
    this.#lifetime.abort();
    this.#sweeper.stop();
    await step('dispatcher', () => this.#dispatcher.stop(this.#config.shutdownGraceMs));
    await step('reconcile', async () => this.#reconciling);
    await step('tracker', () => this.#tracker.stop());
    await step('results', () => this.#recorder.stop());
    await step('pod watch', () => this.#podOutcomes.stop());
    await step('redis', async () => {
      for (const b of this.#blocking) b.disconnect();
      try {
        await this.#redis.quit();
      } finally {
        // A QUIT that timed out (Redis frozen, the socket still open) leaves
        // the connection, and the watchdog reconnecting it, holding the
        // process alive: close it without a word to Redis.
        this.#redis.disconnect();
      }
    });
    await step('http', async () => this.#server?.close());
    await step('kubernetes', () => Promise.all([this.client.close(), this.#authClient.close()]));
    this.#transition('stopped');
  }
}

/** Routes held back by a configuration error make kjd not ready; a full quota only waits. */
function routesCheck(held: ReturnType<Dispatcher['heldRoutes']>): { ok: boolean; detail: string } {
  const broken = held.filter((h) => h.problem.category === 'configuration');
  const waiting = held.filter((h) => h.problem.category !== 'configuration');
  const describe = (hs: typeof held) => hs.map((h) => `${h.route}: ${h.problem.message}`).join('; ');
  if (broken.length > 0) return { ok: false, detail: `misconfigured: ${describe(broken)}` };
  if (waiting.length > 0) return { ok: true, detail: `waiting for room: ${describe(waiting)}` };
  return { ok: true, detail: 'every route taking items' };
}

/** What one item may be: checked on its text before it is parsed. */
function itemLimitsOf(limits: ServeConfig['limits']): ItemLimits {
  return { maxBytes: limits.maxItemBytes, maxDepth: limits.maxItemDepth, maxEntries: limits.maxItemEntries };
}

/** A route in batch mode needs a template batch mode can vary per item: said at start, not per item. */
function checkBatchTemplates(config: ServeConfig, templates: readonly JobTemplate[]): void {
  const problems = config.routes.flatMap((r, i) =>
    r.batch === undefined
      ? []
      : (templates[i]?.batchProblems(r.batch.itemsPerPod) ?? []).map(
          (p) => `  routes[${i}] (${r.name}): ${p}`,
        ),
  );
  if (problems.length > 0)
    throw new ConfigError(`these templates cannot run in batch mode:\n${problems.join('\n')}`);
}

/** Each configured route with its template, namespace and source (none for HTTP routes). */
function buildRoutes(
  config: ServeConfig,
  templates: readonly JobTemplate[],
  fallbackNamespace: string,
  sourceFor: (r: ServeConfig['routes'][number]) => WorkSource | undefined,
): Route[] {
  return config.routes.map((r, i) => {
    const template = templates[i];
    if (template === undefined) throw new Error('template missing');
    const source = sourceFor(r);
    return {
      name: r.name,
      template,
      namespace: r.namespace ?? template.namespace ?? fallbackNamespace,
      ...(source !== undefined ? { source } : {}),
      ...(r.kueue !== undefined ? { kueueQueue: r.kueue.queueName } : {}),
      ...(r.batch !== undefined ? { batch: r.batch } : {}),
      ...(r.source.type === 'http' && r.source.namespaces !== undefined
        ? { callerNamespaces: r.source.namespaces }
        : {}),
      idScope: r.idScope ?? r.name,
    };
  });
}
