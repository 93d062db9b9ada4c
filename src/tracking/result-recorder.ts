// Every Job kjd serve made ends in exactly one result in Redis; then what
// held the item until that result lets go (the Job's in-flight record in
// Redis, or kjd's finalizer on a batch Job and on Jobs from before ADR 0009),
// then the Job is scheduled for cleanup. A Redis or API hiccup delays a
// result, never loses it: writes are retried with backoff until they succeed
// or kjd stops, and the record (or finalizer) keeps the item across a
// restart. The container's own outcome (exit code, termination message) is
// best effort: a failed Pods GET does not hold the result back.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { BatchClaims } from '../dispatch/batch-claims.ts';
import type { Logger } from 'pino';
import { jobState, type JobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { FINALIZER_RESULT } from '../kube/labels.ts';
import { containerOutcome, type ContainerOutcome } from '../kube/pod-outcome.ts';
import { sleep } from '../time/sleep.ts';
import { BoundedQueue } from './bounded-queue.ts';
import type { CleanupSweeper } from './cleanup-sweeper.ts';
import { jobRef, type BatchRef, type JobRef } from './job-tracker.ts';
import { parseIndexes } from '../template/index.ts';
import { batchResults, COMPLETION_INDEX, endedIndexes } from './batch-results.ts';
import { resultFrom, type JobResult, type RedisResults } from './results.ts';
import type { InFlightRecords } from './in-flight.ts';
import type { PodOutcomes } from './pod-outcomes.ts';

export interface ResultRecorderOptions {
  readonly jobs: Pick<JobOperations, 'pods' | 'removeFinalizer'>;
  readonly results: Pick<RedisResults, 'write'>;
  readonly logger: Logger;
  readonly cleanup?: CleanupSweeper;
  /** Results recorded at once, at most. Default 8. */
  readonly concurrency?: number;
  /** First retry delay; doubles up to 30 s. Default 250 ms. */
  readonly retryBaseMs?: number;
  /** Called once per result this process wrote (metrics). */
  readonly onRecorded?: (result: JobResult) => void;
  /** Jobs of one item without a finalizer: their in-flight record goes once the result is written. */
  readonly records?: Pick<InFlightRecords, 'remove'>;
  /** Batch Jobs: their items' claims are let go once every item has its result. */
  readonly batchClaims?: Pick<BatchClaims, 'forget'>;
  /** Ended Pods from a watch: a Job's outcome is read there before its Pods are listed. */
  readonly podOutcomes?: Pick<PodOutcomes, 'outcome' | 'forget'>;
  /** Called once per Job of one item that ended, with where its container's outcome came from (metrics). */
  readonly onOutcome?: (source: OutcomeSource) => void;
}

/** Where a result's exit code came from: the Pod watch, a list of the Job's Pods, or nowhere. */
export type OutcomeSource = 'watch' | 'list' | 'none';

/** How long a result waits for the Pod watch to show the Job's ended Pod before listing it. */
const POD_WATCH_WAIT_MS = 100;

export class ResultRecorder {
  readonly #o: ResultRecorderOptions;
  readonly #queue: BoundedQueue;
  readonly #stop = new AbortController();
  /** Jobs being recorded now: a second report of the same Job waits for the first. */
  readonly #busy = new Set<string>();
  /** Running batch Jobs with ended indexes to record, as last seen (one queued run each). */
  readonly #ended = new Map<string, { ref: JobRef; state: JobState }>();
  /** Items of running batch Jobs whose results this process wrote already (by Job, item index). */
  readonly #early = new Map<string, Set<number>>();

  constructor(options: ResultRecorderOptions) {
    this.#o = options;
    this.#queue = new BoundedQueue(options.concurrency ?? 8);
  }

  /** Results queued or being written. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Resolves once nothing is queued or being written. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** The tracker saw `job` finish. */
  finished(job: V1Job, state: JobState): void {
    this.#enqueue(jobRef(job), state);
  }

  /**
   * The tracker saw more of a running batch Job's indexes end: their items'
   * results are written now rather than when the last index ends. Results
   * are write-once, so the Job's final record (which writes every item's)
   * and this never give an item two.
   */
  indexesEnded(job: V1Job): void {
    const ref = jobRef(job);
    if (ref.batch === undefined) return;
    const key = refKey(ref);
    const queued = this.#ended.has(key);
    this.#ended.set(key, { ref, state: jobState(job) });
    if (queued) return; // the queued run takes the newest state
    this.#queue.push(async () => {
      const latest = this.#ended.get(key);
      this.#ended.delete(key);
      if (latest?.ref.batch !== undefined)
        await this.#recordEnded(latest.ref, latest.ref.batch, latest.state);
    });
  }

  /** The tracker saw `job` deleted, or gone, before it finished. */
  vanished(ref: JobRef): void {
    this.#enqueue(ref, undefined);
  }

  /** Stops retrying; results not written stay due (their records, or finalizers, keep them). */
  async stop(graceMs = 2000): Promise<void> {
    this.#queue.clear();
    const grace = new AbortController();
    await Promise.race([this.#queue.idle(), sleep(graceMs, grace.signal).catch(() => undefined)]);
    grace.abort();
    this.#stop.abort();
    await this.#queue.idle();
  }

  #enqueue(ref: JobRef, state: JobState | undefined): void {
    const key = refKey(ref);
    this.#queue.push(async () => {
      if (this.#busy.has(key)) return;
      this.#busy.add(key);
      try {
        await this.#record(ref, state);
      } finally {
        this.#busy.delete(key);
      }
    });
  }

  async #record(ref: JobRef, state: JobState | undefined): Promise<void> {
    const log = this.#o.logger.child({ jobName: ref.name, requestId: ref.requestId });
    const recorded =
      ref.batch !== undefined
        ? await this.#recordBatch(ref, ref.batch, state, log)
        : ref.requestId === undefined || (await this.#recordOne(ref, ref.requestId, state, log));
    if (!recorded) return; // stopping: the record (or finalizer) keeps the item for the next run
    const records = this.#o.records;
    if (records !== undefined && ref.batch === undefined) {
      const removed = await this.#retry(log, 'removing the in-flight record', () =>
        records.remove(ref).then(() => true),
      );
      if (removed === undefined) return;
    }
    if (ref.finalizers.includes(FINALIZER_RESULT)) {
      const removed = await this.#retry(log, "removing kjd's finalizer", () =>
        this.#o.jobs
          .removeFinalizer(ref.name, ref.namespace, FINALIZER_RESULT, ref.finalizers, this.#stop.signal)
          .then(() => true),
      );
      if (removed === undefined) return;
    }
    const finishedAt = state?.finishTime === undefined ? Date.now() : Date.parse(state.finishTime);
    if (state !== undefined) this.#o.cleanup?.schedule(ref, finishedAt, ref.ttlSecondsAfterFinished);
  }

  /** The result of a Job of one item; false when kjd stops first. */
  async #recordOne(
    ref: JobRef,
    requestId: string,
    state: JobState | undefined,
    log: Logger,
  ): Promise<boolean> {
    const phase = state?.finished === true ? state.phase : undefined;
    const outcome =
      phase === 'Failed' || phase === 'Succeeded' ? await this.#outcome(ref, phase, state, log) : undefined;
    const result = resultOf(ref, requestId, state, outcome);
    const written = await this.#retry(log, 'writing the result', () => this.#o.results.write(result));
    if (written === undefined) return false;
    this.#o.podOutcomes?.forget(ref.namespace, ref.name);
    if (written) {
      this.#o.onRecorded?.(result);
      log.info({ status: result.status }, 'result recorded');
    }
    return true;
  }

  /**
   * One result per item of a batch Job, each from its own index: Succeeded
   * or Failed as the index ended (with its Pod's exit code), Deleted when the
   * Job went before the index ended. Then the items' claims go (the results
   * are their tombstones now). False when kjd stops first.
   */
  async #recordBatch(
    ref: JobRef,
    batch: BatchRef,
    state: JobState | undefined,
    log: Logger,
  ): Promise<boolean> {
    const pods = state?.finished === true ? await this.#batchPods(ref, endedIndexes(batch), log) : [];
    const key = refKey(ref);
    const early = this.#early.get(key);
    const results = batchResults(ref, batch, state, pods).filter((r) => early?.has(r.index ?? -1) !== true);
    if (!(await this.#writeAll(results, log))) return false;
    this.#early.delete(key);
    log.info({ items: results.length, earlier: early?.size ?? 0 }, 'batch results recorded');
    const forgotten = await this.#retry(log, "letting go of the batch's claims", () =>
      (this.#o.batchClaims?.forget(ref.idScope, ref.name, batch.requestIds) ?? Promise.resolve()).then(
        () => true,
      ),
    );
    return forgotten !== undefined;
  }

  /** The results of a running batch Job's items whose indexes have ended, not written before. */
  async #recordEnded(ref: JobRef, batch: BatchRef, state: JobState): Promise<void> {
    const log = this.#o.logger.child({ jobName: ref.name });
    const key = refKey(ref);
    const ended = new Set([...parseIndexes(batch.completedIndexes), ...parseIndexes(batch.failedIndexes)]);
    const perPod = batch.itemsPerPod ?? 1;
    // Made here, before any await: the Job's final record (queued after this
    // run started) deletes the entry, and a run still writing then adds to a
    // set no one holds any more instead of leaving one behind.
    let written = this.#early.get(key);
    if (written === undefined) this.#early.set(key, (written = new Set<number>()));
    const due = (item: number) => ended.has(Math.floor(item / perPod)) && !written.has(item);
    if (!batch.requestIds.some((_, item) => due(item))) return;
    const pods = await this.#batchPods(ref, ended.size, log);
    const results = batchResults(ref, batch, state, pods).filter((r) => due(r.index ?? -1));
    if (!(await this.#writeAll(results, log))) return;
    for (const r of results) written.add(r.index ?? -1);
    log.debug({ items: results.length }, "results of a running batch Job's ended indexes recorded");
  }

  /** Writes each result (write-once); false when kjd stops first. */
  async #writeAll(results: readonly JobResult[], log: Logger): Promise<boolean> {
    for (const result of results) {
      const written = await this.#retry(log, 'writing a batch result', () => this.#o.results.write(result));
      if (written === undefined) return false;
      if (written) this.#o.onRecorded?.(result);
    }
    return true;
  }

  /** A batch Job's Pods: from the watch cache, consistently when the cache lacks some ended index. */
  async #batchPods(ref: JobRef, ended: number, log: Logger): Promise<V1Pod[]> {
    const signal = this.#stop.signal;
    try {
      const cached = await this.#o.jobs.pods(ref.name, ref.namespace, signal, { cached: true });
      const indexes = new Set(
        cached
          .filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')
          .map((p) => p.metadata?.annotations?.[COMPLETION_INDEX]),
      );
      if (indexes.size >= ended) return cached;
      return await this.#o.jobs.pods(ref.name, ref.namespace, signal);
    } catch (err) {
      log.warn({ err }, "reading the batch Job's Pods failed; its results go without exit codes");
      return [];
    }
  }

  /** The exit code and termination message of the container that decided the Job. */
  async #outcome(
    ref: JobRef,
    phase: 'Succeeded' | 'Failed',
    state: JobState | undefined,
    log: Logger,
  ): Promise<ContainerOutcome | undefined> {
    const counted = phase === 'Failed' ? state?.failed : state?.succeeded;
    const watched = await this.#o.podOutcomes?.outcome(
      ref.namespace,
      ref.name,
      phase,
      POD_WATCH_WAIT_MS,
      Math.max(1, counted ?? 1),
    );
    if (watched !== undefined) {
      this.#o.onOutcome?.('watch');
      return watched;
    }
    const listed = await this.#listedOutcome(ref, phase, log);
    this.#o.onOutcome?.(listed === undefined ? 'none' : 'list');
    return listed;
  }

  /** The outcome read from a list of the Job's Pods. */
  async #listedOutcome(
    ref: JobRef,
    phase: 'Succeeded' | 'Failed',
    log: Logger,
  ): Promise<ContainerOutcome | undefined> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        // The Pod ended before the Job controller marked the Job finished, so
        // the watch cache almost always has it: read there first, and read
        // consistently only when it does not show the container's end yet.
        const signal = this.#stop.signal;
        const cached = await this.#o.jobs.pods(ref.name, ref.namespace, signal, { cached: true });
        const found = containerOutcome(cached, phase);
        if (found !== undefined) return found;
        return containerOutcome(await this.#o.jobs.pods(ref.name, ref.namespace, signal), phase);
      } catch (err) {
        log.warn({ err, attempt }, "reading the failed Job's Pods failed");
        if (!(await this.#pause(attempt))) return undefined;
      }
    }
    return undefined;
  }

  /** Tries `fn` until it succeeds; undefined when kjd stops first. */
  async #retry<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        log.warn({ err, attempt }, `${what} failed; retrying`);
        if (!(await this.#pause(attempt))) return undefined;
      }
    }
  }

  async #pause(attempt: number): Promise<boolean> {
    const base = this.#o.retryBaseMs ?? 250;
    const ms = Math.min(30_000, base * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
    try {
      await sleep(ms, this.#stop.signal);
      return true;
    } catch {
      return false;
    }
  }
}

function resultOf(
  ref: JobRef,
  requestId: string,
  state: JobState | undefined,
  outcome: ContainerOutcome | undefined,
): JobResult {
  const base = {
    requestId,
    ...(ref.idScope !== undefined ? { idScope: ref.idScope } : {}),
    jobName: ref.name,
    namespace: ref.namespace,
    template: ref.template,
    ...(outcome !== undefined ? { exitCode: outcome.exitCode } : {}),
    ...(outcome?.terminationMessage !== undefined ? { terminationMessage: outcome.terminationMessage } : {}),
  };
  return state === undefined ? { ...base, status: 'Deleted', reason: 'JobDeleted' } : resultFrom(state, base);
}

/** One key per Job for the recorder's maps: #busy, #ended and #early must agree on it. */
const refKey = (ref: JobRef) => `${ref.namespace}/${ref.name}`;
