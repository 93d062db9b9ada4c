// The composition root of `kjd serve`: connection, templates, sources,
// tracker, results, dispatcher, metrics and the ops endpoints, with one
// lifecycle. create() validates and connects nothing long-running; start()
// starts; stop() is ordered (intake -> creates in flight -> tracker -> Redis
// -> HTTP -> API pool), each step isolated, idempotent. No signal handlers:
// those belong to the process entry (`kjd serve`).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { V1Job } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { Dispatcher, type Route } from '../dispatch/dispatcher.ts';
import { checkAccess, ruleName } from '../kube/access.ts';
import { KubeClient } from '../kube/client.ts';
import { KubeNotFoundError } from '../kube/errors.ts';
import type { JobState } from '../kube/job-status.ts';
import { JobOperations } from '../kube/jobs.ts';
import { ANNOTATION_REQUEST_ID } from '../kube/labels.ts';
import { DispatcherMetrics } from '../metrics/metrics.ts';
import { EventHub } from '../server/event-hub.ts';
import { jobsApi } from '../server/jobs-api.ts';
import { listen, opsApp, type OpsServer, type ReadyReport } from '../server/ops-server.ts';
import { JobTracker } from '../tracking/job-tracker.ts';
import { RedisResults, resultFrom } from '../tracking/results.ts';
import { loadTemplate } from '../template/index.ts';
import { buildSource } from './build-sources.ts';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ServiceDeps {
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default: hostname + random suffix. */
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
  readonly events = new EventHub();
  #state: ServiceState = 'created';
  readonly #config: ServeConfig;
  readonly #log: Logger;
  readonly #redis: Redis;
  readonly #blocking: Redis[];
  readonly #dispatcher: Dispatcher;
  readonly #tracker: JobTracker;
  readonly #namespaces: readonly string[];
  readonly #routes: readonly Route[];
  readonly #jobs: JobOperations;
  #missingPermissions: string[] | undefined;
  #server: OpsServer | undefined;
  #depthTimer: NodeJS.Timeout | undefined;
  readonly #cleanups = new Set<NodeJS.Timeout>();
  #stopping: Promise<void> | undefined;

  static async create(config: ServeConfig, deps: ServiceDeps): Promise<DispatcherService> {
    const templates = await Promise.all(config.routes.map((r) => loadTemplate(r.template)));
    return new DispatcherService(config, deps, templates);
  }

  private constructor(
    config: ServeConfig,
    deps: ServiceDeps,
    templates: Awaited<ReturnType<typeof loadTemplate>>[],
  ) {
    this.#config = config;
    this.#log = deps.logger;
    this.replicaId =
      deps.replicaId ?? `${hostname().replace(/[^a-zA-Z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const k = config.kubernetes;
    this.client = KubeClient.connect({
      env: deps.env,
      mode: k.mode,
      ...(k.kubeconfig !== undefined ? { kubeconfig: k.kubeconfig } : {}),
      ...(k.context !== undefined ? { context: k.context } : {}),
      ...(k.namespace !== undefined ? { namespace: k.namespace } : {}),
      // Where the Pod's ServiceAccount files are (tests emulate a Pod in a temp dir).
      ...(deps.env.KJD_SERVICE_ACCOUNT_DIR !== undefined
        ? { serviceAccountDir: deps.env.KJD_SERVICE_ACCOUNT_DIR }
        : {}),
      transport: {
        rateLimit: { qps: k.qps, burst: k.burst },
        connections: k.connections,
        onRequest: (e) => {
          if (e.status === 0 || e.status >= 400) this.metrics.apiErrors.inc({ status: String(e.status) });
        },
      },
    });
    // Auto-pipelining: commands issued in the same tick (acks, takes, results of
    // many items at once) go out in one write; under load that halves the syscalls.
    this.#redis = new Redis(config.redis.url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    this.results = new RedisResults({ redis: this.#redis, ...config.results });
    const jobs = new JobOperations(this.client);
    this.#blocking = [];
    const routes: Route[] = config.routes.map((r, i) => {
      const built = buildSource(r, this.#redis, config.redis.url, this.replicaId);
      if (built !== undefined) this.#blocking.push(built.blocking);
      const template = templates[i];
      if (template === undefined) throw new Error('template missing');
      return {
        name: r.name,
        template,
        namespace: r.namespace ?? template.namespace ?? this.client.namespace,
        ...(built !== undefined ? { source: built.source } : {}),
        ...(r.kueue !== undefined ? { kueueQueue: r.kueue.queueName } : {}),
      };
    });
    this.#routes = routes;
    this.#jobs = jobs;
    this.#namespaces = [...new Set(routes.map((r) => r.namespace))];
    this.#tracker = new JobTracker({
      jobs,
      transport: this.client.transport,
      namespaces: this.#namespaces,
      logger: this.#log.child({ component: 'tracker' }),
      // Only what the result needs is kept across the Redis write, not the whole Job:
      // on start-up thousands of finished Jobs are recorded at once.
      onFinished: (job, state) => void this.#recordResult(jobs, finishedJob(job), state),
      onChange: (job, state) => {
        const requestId = job.metadata?.annotations?.[ANNOTATION_REQUEST_ID];
        this.events.publish({
          name: job.metadata?.name ?? '',
          namespace: job.metadata?.namespace ?? '',
          phase: state.phase,
          active: state.active,
          succeeded: state.succeeded,
          failed: state.failed,
          ...(requestId !== undefined ? { requestId } : {}),
          ...(state.reason !== undefined ? { reason: state.reason } : {}),
        });
      },
    });
    this.#dispatcher = new Dispatcher({
      routes,
      jobs,
      limits: config.limits,
      metrics: this.metrics,
      logger: this.#log.child({ component: 'dispatcher' }),
      activeJobs: () => this.#tracker.active,
      synced: () => this.#tracker.synced,
      onCreated: (job) => {
        this.#tracker.track(job);
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
    const api = jobsApi({
      dispatcher: this.#dispatcher,
      routes: this.#routes.filter((r) => r.source === undefined),
      jobs: this.#jobs,
      client: this.client,
      results: this.results,
      events: this.events,
      auth: this.#config.http.auth,
      maxBodyBytes: this.#config.http.maxBodyBytes,
      defaultNamespace: this.#routes[0]?.namespace ?? this.client.namespace,
    });
    this.#server = await listen(
      opsApp({ ready: () => this.ready(), registry: this.metrics.registry, api }),
      this.#config.http.listen,
    );
    await this.#checkPermissions();
    this.#tracker.start();
    await this.#dispatcher.start();
    this.#depthTimer = setInterval(() => void this.#sampleDepth(), 5000);
    this.#depthTimer.unref();
    this.#transition('running');
  }

  async #checkPermissions(): Promise<void> {
    const missing: string[] = [];
    for (const ns of this.#namespaces) {
      for (const r of await checkAccess(this.client, ns)) {
        if (!r.allowed)
          missing.push(`${r.verb} ${ruleName(r)}${r.group === '' ? '' : `.${r.group}`} in ${ns}`);
      }
    }
    this.#missingPermissions = missing;
    if (missing.length > 0)
      this.#log.error({ missing }, 'permissions missing: run `kjd check` for the Role to apply');
  }

  async #sampleDepth(): Promise<void> {
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
      running: { ok: this.#state === 'running', detail: this.#state },
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  async #recordResult(jobs: JobOperations, job: FinishedJob, state: JobState): Promise<void> {
    const { requestId, name, namespace, template } = job;
    this.metrics.jobsFinished.inc({ result: state.phase });
    if (requestId === undefined) return;
    try {
      const exitCode = state.phase === 'Failed' ? await failedExitCode(jobs, name, namespace) : undefined;
      const result = resultFrom(state, {
        requestId,
        jobName: name,
        namespace,
        template,
        ...(exitCode !== undefined ? { exitCode } : {}),
      });
      if (await this.results.write(result))
        this.#log.info({ requestId, jobName: name, status: result.status }, 'result recorded');
      this.#scheduleCleanup(jobs, name, namespace, state);
    } catch (err) {
      this.#log.error({ err, requestId, jobName: name }, 'recording the result failed');
    }
  }

  /**
   * Deletes a finished Job `cleanup.afterSeconds` after its completion time,
   * so a Job that finished while kjd was down is still cleaned up. Every
   * replica may try; a 404 just means another one was first.
   */
  #scheduleCleanup(jobs: JobOperations, name: string, namespace: string, state: JobState): void {
    const cleanup = this.#config.cleanup;
    if (cleanup === undefined) return;
    const finishedAt = state.completionTime === undefined ? Date.now() : Date.parse(state.completionTime);
    const delay = Math.max(0, finishedAt + cleanup.afterSeconds * 1000 - Date.now());
    const timer = setTimeout(() => {
      this.#cleanups.delete(timer);
      jobs.delete(name, { namespace, propagation: cleanup.propagation }).then(
        () => {
          this.#log.info({ jobName: name }, 'finished Job cleaned up');
        },
        (err: unknown) => {
          if (!(err instanceof KubeNotFoundError)) this.#log.warn({ err, jobName: name }, 'cleanup failed');
        },
      );
    }, delay);
    timer.unref();
    this.#cleanups.add(timer);
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
    for (const t of this.#cleanups) clearTimeout(t);
    await step('dispatcher', () => this.#dispatcher.stop(this.#config.shutdownGraceMs));
    await step('tracker', () => this.#tracker.stop());
    await step('redis', async () => {
      for (const b of this.#blocking) b.disconnect();
      await this.#redis.quit();
    });
    await step('http', async () => this.#server?.close());
    await step('kubernetes', () => this.client.close());
    this.#transition('stopped');
  }
}

interface FinishedJob {
  readonly requestId: string | undefined;
  readonly name: string;
  readonly namespace: string;
  readonly template: string;
}

function finishedJob(job: V1Job): FinishedJob {
  return {
    requestId: job.metadata?.annotations?.[ANNOTATION_REQUEST_ID],
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    template: job.metadata?.labels?.['kjd.dev/template'] ?? '',
  };
}

async function failedExitCode(
  jobs: JobOperations,
  name: string,
  namespace: string,
): Promise<number | undefined> {
  for (const pod of await jobs.pods(name, namespace)) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const code = cs.state?.terminated?.exitCode;
      if (code !== undefined && code !== 0) return code;
    }
  }
  return undefined;
}
