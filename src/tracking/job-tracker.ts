// A cache of the Jobs kjd manages, kept by list + watch (bookmarks on, 410 ->
// relist, any other error -> back off and relist; it never stops for good,
// unlike client-node's informer). From it: how many Jobs are unfinished
// (backpressure), whether it is in sync (readiness), and each Job's move to
// finished (results), reported once per process per Job, and each Job that
// went away without being seen to finish (deleted, or gone across a relist),
// so that every Job kjd made ends in a result.
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeGoneError, KubeInvalidError, KubeRequestError } from '../kube/errors.ts';
import { isFinished, jobState, type JobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import {
  ANNOTATION_ID_SCOPE,
  ANNOTATION_REQUEST_ID,
  ANNOTATION_TTL_AFTER_FINISHED,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  MANAGED_BY_KJD,
} from '../kube/labels.ts';
import type { KubeTransport } from '../kube/transport.ts';
import { ANNOTATION_ITEMS_PER_POD, batchRequestIds } from '../template/index.ts';
import { endedIndexes } from './batch-results.ts';
import { INITIAL_EVENTS_END, watchJobs, watchRestartDelayMs } from '../kube/watch.ts';
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
  /**
   * Called once per Job that is being deleted, or is gone, before it was seen
   * to finish: a person deleted it, or it vanished while kjd was not looking
   * (down, or across a relist). Must not throw.
   */
  readonly onVanished?: (job: JobRef) => void;
  /**
   * Called when more of a running batch Job's indexes have ended (completed,
   * or failed for good) than when it was last seen, so their items' results
   * need not wait for the whole Job. Must not throw.
   */
  readonly onIndexesEnded?: (job: V1Job) => void;
  /** Only Jobs with app.kubernetes.io/instance=<this> (this release's own). */
  readonly instance?: string;
  /**
   * A watch that delivers nothing (no event, no bookmark) this long is taken
   * for a dead connection and started again. Default 90 000 ms.
   */
  readonly watchIdleMs?: number;
}

/** What the tracker keeps of a Job: enough to record its result once the Job is gone. */
export interface JobRef {
  readonly name: string;
  readonly namespace: string;
  readonly requestId: string | undefined;
  readonly idScope: string | undefined;
  readonly template: string;
  /** The Job's finalizers when last seen; kjd removes its own (FINALIZER_RESULT) after the result. */
  readonly finalizers: readonly string[];
  /** The template's ttlSecondsAfterFinished, when kjd took it over (ANNOTATION_TTL_AFTER_FINISHED). */
  readonly ttlSecondsAfterFinished?: number;
  /** A batch Job: its items' request ids, in index order (requestId is then undefined). */
  readonly batch?: BatchRef;
}

/** A batch Job's items, and which of their indexes had ended when the Job was last seen. */
export interface BatchRef {
  readonly requestIds: readonly string[];
  /** Items per Pod (index); absent: 1. */
  readonly itemsPerPod?: number;
  readonly completedIndexes?: string;
  readonly failedIndexes?: string;
}

export function jobRef(job: V1Job): JobRef {
  const m = job.metadata ?? {};
  const annotations = m.annotations ?? {};
  return {
    name: m.name ?? '',
    namespace: m.namespace ?? '',
    requestId: annotations[ANNOTATION_REQUEST_ID],
    idScope: annotations[ANNOTATION_ID_SCOPE],
    template: m.labels?.['kjd.dev/template'] ?? '',
    finalizers: m.finalizers ?? [],
    ...ttlOf(annotations[ANNOTATION_TTL_AFTER_FINISHED]),
    ...batchRefOf(job),
  };
}

function ttlOf(annotation: string | undefined): { ttlSecondsAfterFinished?: number } {
  const seconds = annotation === undefined ? NaN : Number(annotation);
  return Number.isInteger(seconds) && seconds >= 0 ? { ttlSecondsAfterFinished: seconds } : {};
}

function batchRefOf(job: V1Job): { batch?: BatchRef } {
  const requestIds = batchRequestIds(job);
  if (requestIds === undefined) return {};
  const { completedIndexes, failedIndexes } = job.status ?? {};
  const perPod = Number(job.metadata?.annotations?.[ANNOTATION_ITEMS_PER_POD] ?? 1);
  return {
    batch: {
      requestIds,
      ...(perPod > 1 ? { itemsPerPod: perPod } : {}),
      ...(completedIndexes !== undefined ? { completedIndexes } : {}),
      ...(failedIndexes !== undefined ? { failedIndexes } : {}),
    },
  };
}

/** A watch that ends this soon with nothing in it is failing: back off before the next. */
const QUICK_END_MS = 1000;

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

  readonly #selector: string;

  constructor(options: JobTrackerOptions) {
    this.#o = options;
    this.#streamInitial = options.initialSync !== 'list';
    this.#selector = [
      `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`,
      ...(options.instance !== undefined ? [`${LABEL_INSTANCE}=${options.instance}`] : []),
    ].join(',');
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

  /** The Job is in the cache (listed, watched, or just created by this process). */
  has(namespace: string, name: string): boolean {
    return this.#jobs.has(`${namespace}/${name}`);
  }

  /** Jobs of one item that have not finished and are not being deleted, as last seen. */
  unfinished(): JobRef[] {
    const refs: JobRef[] = [];
    for (const j of this.#jobs.values())
      if (!j.finished && !j.vanished && j.ref.batch === undefined) refs.push(j.ref);
    return refs;
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
          const complete = await this.#watchList(namespace, signal, () => (failures = 0));
          // Ended before its initial state was all there (a proxy or server
          // closing it at once): again, but never as a loop of requests.
          if (!complete && !isAborted(signal)) {
            failures++;
            await sleep(watchRestartDelayMs(failures), signal).catch(() => undefined);
          }
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
          await sleep(watchRestartDelayMs(failures), signal).catch(() => undefined);
        }
      }
    }
  }

  /**
   * One watch that starts with every current Job (streamed, one at a time)
   * and then follows changes; on to plain watches from the last version when
   * the server ends it.
   */
  /** False when the watch ended before its initial state was complete. */
  async #watchList(namespace: string, signal: AbortSignal, onSynced: () => void): Promise<boolean> {
    // As in #relist: only Jobs known before may be forgotten when they are not in the stream.
    const knownBefore = new Set([...this.#jobs.keys()].filter((k) => k.startsWith(`${namespace}/`)));
    const seen = new Set<string>();
    let initial = true;
    let rv: string | undefined;
    for await (const ev of watchJobs(this.#o.transport, {
      namespace,
      labelSelector: this.#selector,
      signal,
      sendInitialEvents: true,
      idleTimeoutMs: this.#idleMs,
    })) {
      rv = ev.object.metadata?.resourceVersion ?? rv;
      if (ev.type === 'BOOKMARK') {
        if (initial && ev.object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') {
          initial = false;
          for (const key of knownBefore) if (!seen.has(key)) this.#forget(key);
          this.#synced.add(namespace);
          onSynced();
        }
      } else if (ev.type === 'DELETED') this.#deleted(ev.object);
      else {
        const key = this.#observe(ev.object);
        if (initial) seen.add(key);
      }
    }
    // Ended before the initial state was complete: start over (the caller loops).
    if (initial || signal.aborted) return !initial;
    await this.#watch(namespace, rv, signal);
    return true;
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
        labelSelector: this.#selector,
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

  get #idleMs(): number {
    return this.#o.watchIdleMs ?? 90_000;
  }

  async #watch(namespace: string, from: string | undefined, signal: AbortSignal): Promise<void> {
    let rv = from;
    let quickEnds = 0;
    for (;;) {
      const started = Date.now();
      let events = 0;
      for await (const ev of watchJobs(this.#o.transport, {
        namespace,
        labelSelector: this.#selector,
        signal,
        idleTimeoutMs: this.#idleMs,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
      })) {
        events++;
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED') this.#deleted(ev.object);
        else this.#observe(ev.object);
      }
      if (signal.aborted) return;
      // A watch the server (or something in between) ends at once, again and
      // again, must not become a loop of requests.
      quickEnds = events === 0 && Date.now() - started < QUICK_END_MS ? quickEnds + 1 : 0;
      if (quickEnds > 0) await sleep(watchRestartDelayMs(quickEnds), signal);
    }
  }

  /** The DELETED event carries the Job's last state: it may have finished unseen. */
  #deleted(job: V1Job): void {
    const key = keyOf(job);
    const before = this.#jobs.get(key);
    if (before?.finished !== true) {
      const state = jobState(job);
      if (isFinished(state)) this.#notify(() => this.#o.onFinished?.(job, state));
      else if (before?.vanished !== true) this.#notify(() => this.#o.onVanished?.(jobRef(job)));
    }
    this.#count(before, -1);
    this.#jobs.delete(key);
  }

  /** Gone from a relist without a DELETED event (kjd was not watching). */
  #forget(key: string): void {
    const before = this.#jobs.get(key);
    if (before !== undefined && !before.finished && !before.vanished)
      this.#notify(() => this.#o.onVanished?.(before.ref));
    this.#count(before, -1);
    this.#jobs.delete(key);
  }

  #notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.logger.error({ err }, 'a Job listener threw');
    }
  }

  #count(j: Tracked | undefined, by: 1 | -1): void {
    // A Job being deleted runs no more (or soon will not): it frees its place at once.
    if (j === undefined || j.finished || j.vanished) return;
    if (j.suspended) this.#queued += by;
    else this.#active += by;
  }

  #observe(job: V1Job): string {
    const key = keyOf(job);
    const state = jobState(job);
    const finished = isFinished(state);
    const before = this.#jobs.get(key);
    // Being deleted before it finished (a person's delete waits on kjd's finalizer).
    const vanished = !finished && job.metadata?.deletionTimestamp != null;
    const now: Tracked = {
      phase: state.phase,
      finished,
      suspended: job.spec?.suspend === true,
      vanished: vanished || before?.vanished === true,
      // A batch Job's ended indexes change while it runs: kept fresh for a delete before it finishes.
      ref: before?.ref !== undefined && before.ref.batch === undefined ? before.ref : jobRef(job),
    };
    this.#count(before, -1);
    this.#count(now, 1);
    this.#jobs.set(key, now);
    this.#report(job, state, before, vanished);
    if (!finished && now.ref.batch !== undefined && endedCount(now.ref) > endedCount(before?.ref))
      this.#notify(() => this.#o.onIndexesEnded?.(job));
    return key;
  }

  #report(job: V1Job, state: JobState, before: Tracked | undefined, vanished: boolean): void {
    if (before?.phase !== state.phase || before.finished !== state.finished)
      this.#notify(() => this.#o.onChange?.(job, state));
    if (state.finished && before?.finished !== true) this.#notify(() => this.#o.onFinished?.(job, state));
    if (vanished && before?.vanished !== true) this.#notify(() => this.#o.onVanished?.(jobRef(job)));
  }
}

interface Tracked {
  readonly phase: string;
  readonly finished: boolean;
  readonly suspended: boolean;
  /** Reported to onVanished already. */
  readonly vanished: boolean;
  readonly ref: JobRef;
}

/** A batch Job's indexes that have ended, as last seen (0 for others). */
const endedCount = (ref: JobRef | undefined) => (ref?.batch === undefined ? 0 : endedIndexes(ref.batch));

const keyOf = (job: V1Job) => `${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`;
