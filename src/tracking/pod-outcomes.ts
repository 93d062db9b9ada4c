// The ended Pods of kjd's Jobs, kept from one watch per namespace, so that a
// result's exit code and termination message come without a request per
// result. The list it replaces (`LIST pods` by the Job's label, from the watch
// cache) costs the API server in proportion to every Pod in the namespace,
// since the cache has no label index: measured on the local cluster, 0.67 ms
// of its CPU per list with 100 Pods in the namespace, 1.41 ms with 3,000 and
// 4.23 ms with 6,000. The watch asks only for ended Pods (a field selector on
// status.phase), so it is sent about two events per Pod: it ended, and the Job
// controller took its finalizer off.
//
// Best effort by design: whatever the watch has not delivered (it is
// restarting, it lagged, it is forbidden) the caller reads by list, as
// before. Nothing here can lose or delay a result beyond `waitMs`.
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeForbiddenError, KubeGoneError } from '../kube/errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { JOB_NAME_POD_LABEL, LABEL_MANAGED_BY, MANAGED_BY_KJD } from '../kube/labels.ts';
import { containerOutcome, type ContainerOutcome } from '../kube/pod-outcome.ts';
import type { KubeTransport } from '../kube/transport.ts';
import { watchPods, watchRestartDelayMs } from '../kube/watch.ts';
import { isAborted, sleep } from '../time/sleep.ts';

/** Pods that ended: the API server filters, so running Pods' updates are never sent. */
export const ENDED_PODS = 'status.phase!=Pending,status.phase!=Running,status.phase!=Unknown';

export interface PodOutcomesOptions {
  readonly jobs: Pick<JobOperations, 'podsVersion'>;
  readonly transport: KubeTransport;
  readonly namespaces: readonly string[];
  readonly logger: Logger;
  /** A watch silent this long is taken for a dead connection. Default 90 000 ms. */
  readonly watchIdleMs?: number;
  /** Jobs whose Pods are kept, at most; the oldest go first. Default 10 000. */
  readonly maxJobs?: number;
  /** A Job's Pods are dropped this long after they were last seen, read or not. Default 120 000 ms. */
  readonly retainMs?: number;
  readonly now?: () => number;
}

interface Entry {
  /** Pod name -> what containerOutcome needs of it. */
  readonly pods: Map<string, V1Pod>;
  at: number;
}

export class PodOutcomes {
  readonly #o: PodOutcomesOptions;
  readonly #now: () => number;
  /** namespace/job -> its ended Pods. Insertion order is age: the first is evicted first. */
  readonly #byJob = new Map<string, Entry>();
  /** Namespaces whose watch runs from a known version: what it has not delivered has not happened yet. */
  readonly #live = new Set<string>();
  /**
   * Namespaces where a wait ran out since the watch last delivered: their
   * results do not wait again until it does (a watch gone quiet, up to its
   * idle limit, must not slow every result by `waitMs`).
   */
  readonly #lagging = new Set<string>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: PodOutcomesOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Jobs whose ended Pods are kept now. */
  get size(): number {
    return this.#byJob.size;
  }

  start(): void {
    this.#loops = this.#o.namespaces.map((ns) => this.#run(ns));
    const retain = this.#o.retainMs ?? 120_000;
    this.#sweeper = setInterval(() => {
      this.#sweep(retain);
    }, retain / 2);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#sweeper);
    for (const wake of [...this.#waiters.values()].flatMap((s) => [...s])) wake();
    await Promise.allSettled(this.#loops);
  }

  /**
   * The outcome of the container that decided the Job, from the watched Pods,
   * once at least `pods` of them ended in `phase` (the Job's own count: a Job
   * retried after failures has more than one): at once when they show it,
   * else as soon as they do, within `waitMs` (the Pods end before the Job
   * does, but the two watches deliver independently). Undefined when the
   * namespace is not watched now or nothing came in time: the caller then
   * lists the Job's Pods.
   */
  async outcome(
    namespace: string,
    job: string,
    phase: 'Succeeded' | 'Failed',
    waitMs: number,
    pods = 1,
  ): Promise<ContainerOutcome | undefined> {
    const key = `${namespace}/${job}`;
    const found = () => {
      const entry = this.#byJob.get(key);
      if (entry === undefined) return undefined;
      const ended = [...entry.pods.values()].filter((p) => containerOutcome([p], phase) !== undefined);
      // The last attempt decides: with fewer ended Pods than the Job counted,
      // the one that decided may not have been delivered yet.
      return ended.length >= pods ? containerOutcome(ended, phase) : undefined;
    };
    const now = found();
    if (now !== undefined || !this.#live.has(namespace) || this.#lagging.has(namespace) || waitMs <= 0)
      return now;
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(key) ?? new Set<() => void>();
      this.#waiters.set(key, waiters);
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (waiters.size === 0) this.#waiters.delete(key);
        const outcome = found();
        if (timedOut && outcome === undefined) this.#lagging.add(namespace);
        resolve(outcome);
      };
      const check = () => {
        if (found() !== undefined || isAborted(this.#stop.signal)) done(false);
      };
      const timer = setTimeout(() => {
        done(true);
      }, waitMs);
      waiters.add(check);
    });
  }

  /** The Job's result is written: its Pods are no longer needed. */
  forget(namespace: string, job: string): void {
    this.#byJob.delete(`${namespace}/${job}`);
  }

  async #run(namespace: string): Promise<void> {
    const signal = this.#stop.signal;
    const selectors = { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`, fieldSelector: ENDED_PODS };
    let failures = 0;
    while (!signal.aborted) {
      try {
        const version = await this.#o.jobs.podsVersion(namespace, selectors, signal);
        this.#live.add(namespace);
        failures = 0;
        await this.#watch(namespace, selectors, version, signal);
      } catch (err) {
        this.#live.delete(namespace);
        this.#lagging.delete(namespace);
        if (isAborted(signal)) return;
        if (err instanceof KubeForbiddenError) {
          this.#o.logger.warn(
            { namespace, err: err.message },
            "kjd may not list or watch Pods here: results read each Job's Pods by list instead",
          );
          return;
        }
        // 410: the version is too old; start again from now (a Pod that ended
        // in between is read by list).
        if (!(err instanceof KubeGoneError)) {
          failures++;
          this.#o.logger.warn({ err, namespace }, 'Pod watch failed; restarting');
          await sleep(watchRestartDelayMs(failures), signal).catch(() => undefined);
        }
      }
    }
  }

  async #watch(
    namespace: string,
    selectors: { labelSelector: string; fieldSelector: string },
    from: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    let rv = from;
    for (;;) {
      const started = this.#now();
      let events = 0;
      for await (const ev of watchPods(this.#o.transport, {
        namespace,
        ...selectors,
        signal,
        idleTimeoutMs: this.#o.watchIdleMs ?? 90_000,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
      })) {
        events++;
        rv = ev.object.metadata?.resourceVersion ?? rv;
        this.#lagging.delete(namespace);
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED') this.#deleted(namespace, ev.object);
        else this.#ended(namespace, ev.object);
      }
      if (signal.aborted) return;
      // A watch ended at once with nothing in it, again and again, must not become a loop of requests.
      if (events === 0 && this.#now() - started < 1000) await sleep(1000, signal);
    }
  }

  #ended(namespace: string, pod: V1Pod): void {
    const job = pod.metadata?.labels?.[JOB_NAME_POD_LABEL];
    const name = pod.metadata?.name;
    if (job === undefined || name === undefined) return;
    const key = `${namespace}/${job}`;
    const entry = this.#byJob.get(key) ?? { pods: new Map<string, V1Pod>(), at: 0 };
    entry.pods.set(name, slim(pod));
    entry.at = this.#now();
    // Re-inserted: the Map's order stays the order of last change.
    this.#byJob.delete(key);
    this.#byJob.set(key, entry);
    this.#evict();
    for (const check of [...(this.#waiters.get(key) ?? [])]) check();
  }

  #deleted(namespace: string, pod: V1Pod): void {
    const job = pod.metadata?.labels?.[JOB_NAME_POD_LABEL];
    const name = pod.metadata?.name;
    if (job === undefined || name === undefined) return;
    const key = `${namespace}/${job}`;
    const entry = this.#byJob.get(key);
    entry?.pods.delete(name);
    if (entry?.pods.size === 0) this.#byJob.delete(key);
  }

  #evict(): void {
    const max = this.#o.maxJobs ?? 10_000;
    for (const key of this.#byJob.keys()) {
      if (this.#byJob.size <= max) return;
      this.#byJob.delete(key);
    }
  }

  #sweep(retainMs: number): void {
    const oldest = this.#now() - retainMs;
    for (const [key, entry] of this.#byJob) {
      if (entry.at >= oldest) return; // the rest are newer
      this.#byJob.delete(key);
    }
  }
}

/** Only what containerOutcome reads: a Pod's whole spec and status are ~4 KB each. */
function slim(pod: V1Pod): V1Pod {
  return {
    metadata: { name: pod.metadata?.name ?? '', creationTimestamp: pod.metadata?.creationTimestamp as Date },
    status: {
      containerStatuses: (pod.status?.containerStatuses ?? []).map((cs) => ({
        name: cs.name,
        image: '',
        imageID: '',
        ready: false,
        restartCount: cs.restartCount,
        ...(cs.state !== undefined ? { state: cs.state } : {}),
      })),
    },
  };
}
