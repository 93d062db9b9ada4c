// Takes items from every route's source and turns each into exactly one Job,
// within two limits: creates in flight (maxInFlightCreates) and unfinished
// Jobs kjd manages (maxActiveJobs, from the tracker's watch cache). At a limit
// kjd stops taking items; they wait in their queue, not in kjd's memory.
//
// stop(): stop taking, let creates in flight finish (bounded by graceMs), then
// hand every unacknowledged item back to its source.
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isKjdError } from '../errors.ts';
import type { WorkItem, WorkSource } from '../sources/source.ts';
import { isTransientRedisError } from '../sources/redis-connection.ts';
import { sleep } from '../time/sleep.ts';
export type { BatchSettings } from './batch-intake.ts';
import { takeBatch } from './batch-intake.ts';
import { handleBatch } from './handle-batch.ts';
import { handleItem, type HandleContext, type ItemOutcome } from './handle-item.ts';
import { RouteGate, type GateProblem } from './route-gate.ts';
import { Wakeup } from './wakeup.ts';
import { recordOf } from '../tracking/in-flight.ts';
import { jobRef } from '../tracking/job-tracker.ts';
import type { DispatcherDeps, Route, SubmitOutcome } from './dispatcher-deps.ts';

/** Items taken from a source in one go, at most. */
const MAX_BATCH = 32;
/** How long an HTTP submission waits for a create slot before its answer is 429. */
const SUBMIT_SLOT_WAIT_MS = 2000;

export type { DispatcherDeps, DispatcherLimits, Route, SubmitOutcome } from './dispatcher-deps.ts';

export class Dispatcher {
  readonly #d: DispatcherDeps;
  readonly #intake = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  /** Woken each time a task leaves #inFlight: what a wait for a free slot awaits. */
  readonly #slotFreed = new Wakeup();
  readonly #gates = new Map<string, RouteGate>();
  /** Items being turned into Jobs now, per route (for the dashboard and /v1/routes). */
  readonly #inFlightByRoute = new Map<string, number>();
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | undefined;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Items of one route being turned into Jobs now. */
  inFlightFor(route: string): number {
    return this.#inFlightByRoute.get(route) ?? 0;
  }

  #count(route: string, by: number): void {
    this.#inFlightByRoute.set(route, (this.#inFlightByRoute.get(route) ?? 0) + by);
  }

  /** Routes held back now, with why (for /readyz, logs and metrics). */
  heldRoutes(): { route: string; problem: GateProblem }[] {
    return [...this.#gates].flatMap(([route, gate]) =>
      gate.problem === undefined ? [] : [{ route, problem: gate.problem }],
    );
  }

  #gate(route: Route): RouteGate {
    let gate = this.#gates.get(route.name);
    if (gate === undefined) {
      gate = new RouteGate();
      this.#gates.set(route.name, gate);
    }
    return gate;
  }

  #context(route: Route, signal: AbortSignal, maxAttempts: number): HandleContext {
    const d = this.#d;
    const recorded = this.#recorded(route);
    return {
      template: route.template,
      namespace: route.namespace,
      ...(route.kueueQueue !== undefined ? { kueueQueue: route.kueueQueue } : {}),
      ...(route.idScope !== undefined ? { idScope: route.idScope } : {}),
      ...(d.jobLabels !== undefined ? { labels: d.jobLabels } : {}),
      ...(!recorded && d.jobFinalizers !== undefined ? { finalizers: d.jobFinalizers } : {}),
      ...(recorded ? { ownTtl: true } : {}),
      ...(d.limits.item !== undefined ? { itemLimits: d.limits.item } : {}),
      ...(d.alreadyDone !== undefined ? { alreadyDone: d.alreadyDone } : {}),
      jobs: d.jobs,
      maxAttempts,
      retryBaseMs: d.limits.retryBaseMs,
      signal,
    };
  }

  /** The route's Jobs are held by an in-flight record rather than a finalizer. */
  #recorded(route: Route): boolean {
    return this.#d.inFlight !== undefined && route.batch === undefined;
  }

  /**
   * Before the item's ack (or answer): the record that holds it until its
   * result. A Job that already existed (a redelivery) may have ended and had
   * its result written, and its record removed, while this create was on the
   * wire; a record written after that would stay until kjd's next start. So
   * for those the result is asked after the record: either the ask sees the
   * result (the record goes here), or the result comes later and its
   * recorder removes the record. A Job this call created has not run its Pod
   * yet when its record is written, so only a 409 asks (one command more, off
   * the hot path).
   */
  async #record(route: Route, job: V1Job, existed: boolean): Promise<void> {
    const inFlight = this.#d.inFlight;
    if (inFlight === undefined || !this.#recorded(route)) return;
    const record = recordOf(jobRef(job));
    await inFlight.add(record);
    if (existed && (await this.#d.alreadyDone?.(record.requestId, record.idScope)) === true)
      await inFlight.remove(record);
  }

  async start(): Promise<void> {
    for (const route of this.#d.routes) await route.source?.start();
    this.#loops = this.#d.routes.flatMap((route) =>
      route.source === undefined ? [] : [this.#takeLoop(route, route.source)],
    );
  }

  /** The capacity left for new Jobs (maxActiveJobs minus unfinished and in-flight ones). */
  get capacity(): number {
    return this.#d.limits.maxActiveJobs - this.#d.activeJobs() - this.#inFlight.size;
  }

  /**
   * One item from a caller that waits for the answer (HTTP). It counts
   * against the same limits as queued items, reserved before anything is
   * sent: over them the answer is 'busy' (the caller retries later), never a
   * create past maxInFlightCreates or maxActiveJobs. Retryable failures are
   * retried (the Job's name is fixed by the request id, so a retry cannot make
   * a second Job); when the retries run out, whether the Job exists is asked,
   * not guessed.
   */
  async submit(
    route: Route,
    item: WorkItem,
    signal: AbortSignal,
    namespace: string = route.namespace,
  ): Promise<SubmitOutcome> {
    const { metrics, limits } = this.#d;
    if (this.#d.synced?.() === false)
      return { kind: 'busy', reason: 'the Job watch has not synced yet', notReady: true };
    // The check and the reservation below run in one turn: no await between them.
    while (!this.#roomForOne()) {
      const full = await this.#waitForSlot(signal);
      if (full !== undefined) return { kind: 'busy', reason: full };
    }
    metrics.itemsReceived.inc({ route: route.name });
    const started = performance.now();
    const task = handleItem(item, {
      ...this.#context(route, signal, limits.maxAttempts),
      namespace,
    })
      .then((outcome) => this.#confirm(outcome, namespace))
      .then((outcome) => this.#recordSubmitted(route, outcome));
    const slot = task.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(slot);
    this.#count(route.name, 1);
    void slot.finally(() => {
      this.#inFlight.delete(slot);
      this.#slotFreed.wake();
      this.#count(route.name, -1);
    });
    const outcome = await task;
    if (outcome.kind === 'created') {
      this.#d.onCreated?.(outcome.job);
      metrics.jobsCreated.inc({ route: route.name, outcome: outcome.existed ? 'existing' : 'created' });
      metrics.createLatency.observe({ route: route.name }, (performance.now() - started) / 1000);
      metrics.enqueueToCreated.observe({ route: route.name }, (performance.now() - started) / 1000);
    } else if (outcome.kind === 'dead') {
      metrics.deadLettered.inc({ route: route.name, code: outcome.code });
    }
    return outcome;
  }

  #roomForOne(): boolean {
    const { maxInFlightCreates, maxActiveJobs } = this.#d.limits;
    return (
      this.#inFlight.size < maxInFlightCreates && this.#d.activeJobs() + this.#inFlight.size < maxActiveJobs
    );
  }

  /**
   * A burst of callers waits a moment for a create slot (as a queue's items
   * wait in their queue) before being told to come back: undefined when one
   * is free, else which limit is reached.
   */
  async #waitForSlot(signal: AbortSignal): Promise<string | undefined> {
    const { maxInFlightCreates, maxActiveJobs } = this.#d.limits;
    const deadline = performance.now() + SUBMIT_SLOT_WAIT_MS;
    for (;;) {
      if (this.#d.activeJobs() + this.#inFlight.size >= maxActiveJobs && this.#inFlight.size === 0)
        return `${maxActiveJobs} unfinished Jobs (limits.maxActiveJobs)`;
      const atCreates = this.#inFlight.size >= maxInFlightCreates;
      const atActive = this.#d.activeJobs() + this.#inFlight.size >= maxActiveJobs;
      if (!atCreates && !atActive) return undefined;
      const left = deadline - performance.now();
      if (left <= 0 || signal.aborted)
        return atCreates
          ? `${maxInFlightCreates} creates in flight (limits.maxInFlightCreates)`
          : `${maxActiveJobs} unfinished Jobs (limits.maxActiveJobs)`;
      await this.#slotFreed.waitAtMost(left);
    }
  }

  /**
   * The Job exists, so the caller is told so whatever happens here. A record
   * Redis did not take is made at kjd's next start (reconcile.ts adopts
   * unfinished Jobs without one); meanwhile the watch follows the Job.
   */
  async #recordSubmitted(route: Route, outcome: ItemOutcome): Promise<ItemOutcome> {
    if (outcome.kind !== 'created') return outcome;
    await this.#record(route, outcome.job, outcome.existed).catch((err: unknown) => {
      this.#d.logger.warn(
        { err, jobName: outcome.job.metadata?.name },
        'recording the Job in flight failed; the next start adopts it',
      );
    });
    return outcome;
  }

  /** Retries ran out: the last create may have worked with its answer lost. Ask. */
  async #confirm(outcome: ItemOutcome, namespace: string): Promise<ItemOutcome> {
    if (outcome.kind !== 'held' || outcome.jobName === undefined) return outcome;
    try {
      return { kind: 'created', job: await this.#d.jobs.get(outcome.jobName, namespace), existed: true };
    } catch {
      return outcome;
    }
  }

  async #takeLoop(route: Route, source: WorkSource): Promise<void> {
    const signal = this.#intake.signal;
    const log = this.#d.logger.child({ route: route.name });
    const gate = this.#gate(route);
    while (!signal.aborted) {
      await gate.waitOpen(signal);
      if (!(await this.#hasCapacity(signal))) continue;
      let items: readonly WorkItem[];
      try {
        items =
          route.batch === undefined
            ? await this.#take(source, signal)
            : await takeBatch(source, route.batch, signal);
      } catch (err) {
        // A failover or reslot in progress is expected to pass: not an error worth paging for.
        if (isTransientRedisError(err) || (isKjdError(err) && err.category === 'retryable'))
          log.warn({ err }, 'Redis is failing over or its replicas are behind; retrying the read');
        else log.error({ err }, 'reading the source failed; retrying');
        await sleep(1000, signal).catch(() => undefined);
        continue;
      }
      if (route.batch === undefined) for (const item of items) this.#begin(route, source, item, log);
      else if (items.length > 0) this.#beginBatch(route, source, items, log);
    }
  }

  #beginBatch(route: Route, source: WorkSource, items: readonly WorkItem[], log: Logger): void {
    const { metrics } = this.#d;
    metrics.itemsReceived.inc({ route: route.name }, items.length);
    this.#count(route.name, items.length);
    const task = this.#processBatch(route, source, items, log).finally(() => {
      this.#inFlight.delete(task);
      this.#slotFreed.wake();
      this.#count(route.name, -items.length);
      metrics.inFlight.set(this.#inFlight.size);
    });
    this.#inFlight.add(task);
    metrics.inFlight.set(this.#inFlight.size);
  }

  async #processBatch(
    route: Route,
    source: WorkSource,
    items: readonly WorkItem[],
    log: Logger,
  ): Promise<void> {
    const claims = this.#d.batchClaims;
    const started = performance.now();
    let outcomes: Map<WorkItem, ItemOutcome>;
    try {
      if (claims === undefined) throw new Error('batch mode needs batchClaims');
      outcomes = await handleBatch(items, {
        ...this.#context(route, this.#intake.signal, this.#d.limits.maxAttempts),
        claims,
        itemsPerPod: route.batch?.itemsPerPod ?? 1,
        onRetry: this.#onRetry(route, log),
      });
    } catch (err) {
      log.error({ err }, 'unexpected error handling a batch; handing its items back to their queue');
      for (const item of items) await this.#release(source, item, log);
      return;
    }
    // One Job for many items: tracked and counted once, acknowledged per item; the route held once.
    const seen = new Set<string>();
    for (const item of items) {
      const outcome = outcomes.get(item) ?? { kind: 'abandoned' };
      const key = outcome.kind === 'created' ? (outcome.job.metadata?.name ?? '') : outcome.kind;
      const repeat = (outcome.kind === 'created' || outcome.kind === 'held') && seen.has(key);
      seen.add(key);
      const child = log.child({ requestId: item.requestId });
      await (
        !repeat
          ? this.#settle(route, source, item, outcome, child, started)
          : outcome.kind === 'held'
            ? this.#release(source, item, child)
            : source.ack(item)
      ).catch(async (err: unknown) => {
        child.error({ err }, 'settling a batch item failed; handing it back to its queue');
        await this.#release(source, item, child);
      });
    }
  }

  #onRetry(route: Route, log: Logger): (err: unknown, attempt: number) => void {
    return (err, attempt) => {
      const code = (err as { code?: string }).code ?? 'UNKNOWN';
      this.#d.metrics.retries.inc({ route: route.name, code });
      log.warn({ err, attempt }, 'creating the Job failed; will retry');
    };
  }

  async #release(source: WorkSource, item: WorkItem, log: Logger): Promise<void> {
    await source.release?.(item).catch((releaseErr: unknown) => {
      log.error({ err: releaseErr }, 'handing the item back failed; the source will recover it');
    });
  }

  /** As many items as there is room for (one when the source cannot batch). */
  async #take(source: WorkSource, signal: AbortSignal): Promise<readonly WorkItem[]> {
    if (source.nextBatch === undefined) {
      const item = await source.next(signal);
      return item === undefined ? [] : [item];
    }
    const { maxInFlightCreates, maxActiveJobs } = this.#d.limits;
    const room = Math.min(
      MAX_BATCH,
      maxInFlightCreates - this.#inFlight.size,
      maxActiveJobs - this.#d.activeJobs() - this.#inFlight.size,
    );
    return source.nextBatch(Math.max(1, room), signal);
  }

  #begin(route: Route, source: WorkSource, item: WorkItem, log: Logger): void {
    this.#d.metrics.itemsReceived.inc({ route: route.name });
    this.#count(route.name, 1);
    const task = this.#process(route, source, item, log.child({ requestId: item.requestId })).finally(() => {
      this.#inFlight.delete(task);
      this.#slotFreed.wake();
      this.#count(route.name, -1);
      this.#d.metrics.inFlight.set(this.#inFlight.size);
    });
    this.#inFlight.add(task);
    this.#d.metrics.inFlight.set(this.#inFlight.size);
  }

  /** Waits until a create may start; false when stopping. */
  async #hasCapacity(signal: AbortSignal): Promise<boolean> {
    const { maxInFlightCreates, maxActiveJobs } = this.#d.limits;
    while (this.#d.synced?.() === false) {
      await sleep(50, signal).catch(() => undefined);
      if (signal.aborted) return false;
    }
    while (
      this.#inFlight.size >= maxInFlightCreates ||
      this.#d.activeJobs() + this.#inFlight.size >= maxActiveJobs
    ) {
      if (this.#inFlight.size >= maxInFlightCreates) await this.#slotFreed.wait();
      else await sleep(50, signal).catch(() => undefined);
      if (signal.aborted) return false;
    }
    return !signal.aborted;
  }

  async #process(route: Route, source: WorkSource, item: WorkItem, log: Logger): Promise<void> {
    const started = performance.now();
    try {
      const outcome = await handleItem(item, {
        ...this.#context(route, this.#intake.signal, this.#d.limits.maxAttempts),
        onRetry: this.#onRetry(route, log),
      });
      await this.#settle(route, source, item, outcome, log, started);
    } catch (err) {
      // Never crash on an item, and never leave it held until stop (an ack or
      // dead-letter that failed, a Redis blip): hand it back now. If that fails
      // too, the source's own reconciling puts it back later.
      log.error({ err }, 'unexpected error handling the item; handing it back to its queue');
      await source.release?.(item).catch((releaseErr: unknown) => {
        log.error({ err: releaseErr }, 'handing the item back failed; the source will recover it');
      });
    }
  }

  /** What the outcome means for the item in its source, the route's gate and the metrics. */
  async #settle(
    route: Route,
    source: WorkSource,
    item: WorkItem,
    outcome: ItemOutcome,
    log: Logger,
    started: number,
  ): Promise<void> {
    const { metrics } = this.#d;
    switch (outcome.kind) {
      case 'done':
        this.#gate(route).ok();
        await source.ack(item);
        metrics.jobsCreated.inc({ route: route.name, outcome: 'already-done' });
        log.info({ jobName: outcome.jobName }, 'already done (its result exists): no second Job');
        return;
      case 'created': {
        this.#gate(route).ok();
        await this.#record(route, outcome.job, outcome.existed);
        await source.ack(item);
        metrics.jobsCreated.inc({ route: route.name, outcome: outcome.existed ? 'existing' : 'created' });
        metrics.createLatency.observe({ route: route.name }, (performance.now() - started) / 1000);
        const from = item.enqueuedAtMs ?? item.receivedAtMs;
        metrics.enqueueToCreated.observe({ route: route.name }, Math.max(0, Date.now() - from) / 1000);
        this.#d.onCreated?.(outcome.job);
        log.info({ jobName: outcome.job.metadata?.name ?? '', existed: outcome.existed }, 'Job created');
        return;
      }
      case 'held': {
        const pauseMs = this.#gate(route).hold(outcome.error);
        await source.release?.(item);
        log.warn(
          { err: outcome.error, code: outcome.error.code, pauseMs },
          outcome.error.category === 'capacity'
            ? 'no room for the Job (quota); the item goes back to its queue and the route waits'
            : 'the route is misconfigured; the item goes back to its queue and the route waits',
        );
        return;
      }
      case 'dead':
        await source.deadLetter(item, { reason: outcome.reason, code: outcome.code });
        metrics.deadLettered.inc({ route: route.name, code: outcome.code });
        log.warn(
          { code: outcome.code, reason: outcome.reason, attempts: item.attempts },
          'item dead-lettered',
        );
        return;
      case 'abandoned':
        return; // stopping: the source hands it back
    }
  }

  /** Stops taking items, waits for creates in flight (up to graceMs), hands the rest back. Idempotent. */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      this.#intake.abort();
      await Promise.all(this.#loops);
      // Cancel the grace timer once the creates are done: a pending timer would keep the process alive.
      const grace = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        sleep(graceMs, grace.signal).catch(() => undefined),
      ]);
      grace.abort();
      for (const route of this.#d.routes) {
        await route.source?.stop().catch((err: unknown) => {
          this.#d.logger.error({ err, route: route.name }, 'handing items back failed');
        });
      }
    })();
    return this.#stopping;
  }
}
