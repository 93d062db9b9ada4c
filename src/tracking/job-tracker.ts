// A cache of the Jobs kjd manages, kept by list + watch (bookmarks on, 410 ->
// relist, any other error -> back off and relist; it never stops for good,
// unlike client-node's informer). From it: how many Jobs are unfinished
// (backpressure), whether it is in sync (readiness), and each Job's move to
// finished (results), reported once per process per Job.
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeGoneError, KubeInvalidError, KubeRequestError } from '../kube/errors.ts';
import { isFinished, jobState, type JobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_KJD } from '../kube/labels.ts';
import type { KubeTransport } from '../kube/transport.ts';
import { INITIAL_EVENTS_END, watchJobs } from '../kube/watch.ts';
import { isAborted, sleep } from '../time/sleep.ts';

export interface JobTrackerOptions {
  readonly jobs: JobOperations;
  readonly transport: KubeTransport;
  readonly namespaces: readonly string[];
  readonly logger: Logger;
  /** Called once per Job when it is first seen finished. Must not throw. */
  readonly onFinished?: (job: V1Job, state: JobState) => void;
  /**
   * How the state is first read (and re-read after a 410): `watch-list`
   * (default) streams it in the watch, falling back to `list` (pages of 500)
   * when the server refuses.
   */
  readonly initialSync?: 'watch-list' | 'list';
  /** Called when a Job's phase changes (and when it is first seen). Must not throw. */
  readonly onChange?: (job: V1Job, state: JobState) => void;
}

const SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`;

export class JobTracker {
  readonly #o: JobTrackerOptions;
  /** namespace/name -> the phase last seen and whether it was finished. */
  readonly #jobs = new Map<string, Tracked>();
  /** Kept with every change to #jobs: read per item taken, they must not cost a scan of 10 000 Jobs. */
  #active = 0;
  #queued = 0;
  readonly #synced = new Set<string>();
  readonly #stop = new AbortController();
  /** Streamed initial state (watch-list) until the server says it has none; then paged lists. */
  #streamInitial: boolean;
  #loops: Promise<void>[] = [];

  constructor(options: JobTrackerOptions) {
    this.#o = options;
    this.#streamInitial = options.initialSync !== 'list';
  }

  /** Unfinished Jobs kjd manages, not counting suspended ones (queued in Kueue). */
  get active(): number {
    return this.#active;
  }

  /** Suspended, unfinished Jobs: waiting for admission (Kueue). */
  get queued(): number {
    return this.#queued;
  }

  get tracked(): number {
    return this.#jobs.size;
  }

  /** Every namespace has been listed at least once and its watch is running. */
  get synced(): boolean {
    return this.#o.namespaces.every((ns) => this.#synced.has(ns));
  }

  /**
   * Counts a Job kjd just created as active at once, before its watch event
   * arrives, so backpressure cannot overshoot in between.
   */
  track(job: V1Job): void {
    if (!this.#jobs.has(keyOf(job))) this.#observe(job);
  }

  start(): void {
    this.#loops = this.#o.namespaces.map((ns) => this.#run(ns));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
  }

  async #run(namespace: string): Promise<void> {
    const signal = this.#stop.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (this.#streamInitial) {
          await this.#watchList(namespace, signal, () => (failures = 0));
        } else {
          const rv = await this.#relist(namespace);
          this.#synced.add(namespace);
          failures = 0;
          await this.#watch(namespace, rv, signal);
        }
      } catch (err) {
        if (isAborted(signal)) return;
        if (this.#streamInitial && (err instanceof KubeInvalidError || err instanceof KubeRequestError)) {
          this.#streamInitial = false;
          this.#o.logger.info(
            { namespace },
            'the API server does not stream initial events; listing instead',
          );
          continue;
        }
        if (!(err instanceof KubeGoneError)) {
          failures++;
          this.#o.logger.warn({ err, namespace }, 'Job watch failed; resyncing');
          await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal).catch(() => undefined);
        }
      }
    }
  }

  /**
   * One watch that starts with every current Job (streamed, one at a time)
   * and then follows changes; on to plain watches from the last version when
   * the server ends it.
   */
  async #watchList(namespace: string, signal: AbortSignal, onSynced: () => void): Promise<void> {
    // As in #relist: only Jobs known before may be forgotten when they are not in the stream.
    const knownBefore = new Set([...this.#jobs.keys()].filter((k) => k.startsWith(`${namespace}/`)));
    const seen = new Set<string>();
    let initial = true;
    let rv: string | undefined;
    for await (const ev of watchJobs(this.#o.transport, {
      namespace,
      labelSelector: SELECTOR,
      signal,
      sendInitialEvents: true,
    })) {
      rv = ev.object.metadata?.resourceVersion ?? rv;
      if (ev.type === 'BOOKMARK') {
        if (initial && ev.object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') {
          initial = false;
          for (const key of knownBefore) if (!seen.has(key)) this.#forget(key);
          this.#synced.add(namespace);
          onSynced();
        }
      } else if (ev.type === 'DELETED') this.#forget(keyOf(ev.object));
      else {
        const key = this.#observe(ev.object);
        if (initial) seen.add(key);
      }
    }
    // Ended before the initial state was complete: start over (the caller loops).
    if (initial || signal.aborted) return;
    await this.#watch(namespace, rv, signal);
  }

  async #relist(namespace: string): Promise<string | undefined> {
    // Only Jobs known before this list started may be forgotten: one created
    // (and tracked) while the list was in flight is simply not in it yet.
    const knownBefore = new Set([...this.#jobs.keys()].filter((k) => k.startsWith(`${namespace}/`)));
    const seen = new Set<string>();
    let rv: string | undefined;
    let token: string | undefined;
    // Page by page: holding every Job of a large namespace at once is what made memory peak.
    do {
      const page = await this.#o.jobs.list({
        namespace,
        labelSelector: SELECTOR,
        limit: 500,
        ...(token !== undefined ? { continue: token } : {}),
      });
      for (const job of page.items) seen.add(this.#observe(job));
      rv = page.resourceVersion ?? rv;
      token = page.continue;
    } while (token !== undefined);
    for (const key of knownBefore) if (!seen.has(key)) this.#forget(key);
    return rv;
  }

  async #watch(namespace: string, from: string | undefined, signal: AbortSignal): Promise<void> {
    let rv = from;
    for (;;) {
      for await (const ev of watchJobs(this.#o.transport, {
        namespace,
        labelSelector: SELECTOR,
        signal,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
      })) {
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED') this.#forget(keyOf(ev.object));
        else this.#observe(ev.object);
      }
      if (signal.aborted) return;
    }
  }

  #forget(key: string): void {
    this.#count(this.#jobs.get(key), -1);
    this.#jobs.delete(key);
  }

  #count(j: Tracked | undefined, by: 1 | -1): void {
    if (j === undefined || j.finished) return;
    if (j.suspended) this.#queued += by;
    else this.#active += by;
  }

  #observe(job: V1Job): string {
    const key = keyOf(job);
    const state = jobState(job);
    const finished = isFinished(state);
    const before = this.#jobs.get(key);
    const now: Tracked = { phase: state.phase, finished, suspended: job.spec?.suspend === true };
    this.#count(before, -1);
    this.#count(now, 1);
    this.#jobs.set(key, now);
    try {
      if (before?.phase !== state.phase || before.finished !== finished) this.#o.onChange?.(job, state);
      if (finished && before?.finished !== true) this.#o.onFinished?.(job, state);
    } catch (err) {
      this.#o.logger.error({ err }, 'a Job listener threw');
    }
    return key;
  }
}

interface Tracked {
  readonly phase: string;
  readonly finished: boolean;
  readonly suspended: boolean;
}

const keyOf = (job: V1Job) => `${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`;
