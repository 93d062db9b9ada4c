// One route's dead letters with what redriving them needs to stay
// exactly-once: an entry whose request already has a Job or a result is not
// requeued (it is taken out, and the answer says which Job did the work).
// The dispatcher would not make a second Job for it anyway (the deterministic
// Job name and the result tombstone, see dispatch/handle-item.ts); checking
// here first tells the person who pressed "redrive" what happened, instead of
// an item silently acknowledged later.
import { KubeNotFoundError } from '../kube/errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { requestKey } from '../kube/labels.ts';
import { jobNameFor } from '../template/names.ts';
import type { DeadLetterEntry, DeadLetterPage, DeadLetterPlace } from './place.ts';

/** Entries one "redrive all" takes at most; run it again for more. */
export const MAX_REDRIVE_ALL = 1000;

export interface DeadLetterRoute {
  readonly name: string;
  readonly namespace: string;
  readonly idScope?: string;
  /** The template's name: with the request id it gives the Job's name. */
  readonly templateName: string;
}

export type RedriveOutcome =
  | { readonly id: string; readonly requestId: string; readonly outcome: 'requeued' }
  | {
      readonly id: string;
      readonly requestId: string;
      readonly outcome: 'already-done';
      /** The Job the request has or had; its result, when `why` is result-exists, is in Redis. */
      readonly jobName: string;
      readonly why: 'job-exists' | 'result-exists';
    }
  /** Not there (any more): another redrive or a delete took it first. */
  | { readonly id: string; readonly outcome: 'not-found' };

export interface RouteDeadLettersDeps {
  readonly route: DeadLetterRoute;
  readonly place: DeadLetterPlace;
  readonly results: { exists(requestId: string, idScope: string | undefined): Promise<boolean> };
  readonly jobs: Pick<JobOperations, 'get'>;
}

export class RouteDeadLetters {
  readonly route: DeadLetterRoute;
  readonly #d: RouteDeadLettersDeps;

  constructor(deps: RouteDeadLettersDeps) {
    this.route = deps.route;
    this.#d = deps;
  }

  get key(): string {
    return this.#d.place.key;
  }

  list(limit: number): Promise<DeadLetterPage> {
    return this.#d.place.list(limit);
  }

  count(): Promise<number> {
    return this.#d.place.count();
  }

  get(id: string): Promise<DeadLetterEntry | undefined> {
    return this.#d.place.get(id);
  }

  delete(id: string): Promise<boolean> {
    return this.#d.place.remove(id);
  }

  /** The Job an entry's request has or would have. */
  jobNameFor(requestId: string): string {
    return jobNameFor(this.route.templateName, requestKey(requestId, this.route.idScope));
  }

  async redrive(id: string, signal?: AbortSignal): Promise<RedriveOutcome> {
    const entry = await this.#d.place.get(id);
    if (entry === undefined) return { id, outcome: 'not-found' };
    const jobName = this.jobNameFor(entry.requestId);
    const why = (await this.#d.results.exists(entry.requestId, this.route.idScope))
      ? 'result-exists'
      : (await this.#jobExists(jobName, signal))
        ? 'job-exists'
        : undefined;
    if (why !== undefined) {
      if (!(await this.#d.place.remove(id))) return { id, outcome: 'not-found' };
      return { id, requestId: entry.requestId, outcome: 'already-done', jobName, why };
    }
    if (!(await this.#d.place.requeue(id))) return { id, outcome: 'not-found' };
    return { id, requestId: entry.requestId, outcome: 'requeued' };
  }

  /** Every entry (up to MAX_REDRIVE_ALL), oldest first, until `signal` aborts. */
  async redriveAll(signal?: AbortSignal): Promise<RedriveOutcome[]> {
    const { items } = await this.#d.place.list(MAX_REDRIVE_ALL);
    const outcomes: RedriveOutcome[] = [];
    for (const entry of [...items].reverse()) {
      if (signal?.aborted === true) break;
      outcomes.push(await this.redrive(entry.id, signal));
    }
    return outcomes;
  }

  async #jobExists(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.#d.jobs.get(name, this.route.namespace, signal);
      return true;
    } catch (err) {
      if (err instanceof KubeNotFoundError) return false;
      throw err;
    }
  }
}
