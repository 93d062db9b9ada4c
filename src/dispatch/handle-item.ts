// One item to one Job: parse, render, create (idempotent by request id), then
// ack. Decides what a failure means:
//   permanent (bad JSON, bad parameters, too large, refused by the API or by
//     an admission policy) -> dead-letter, with the reason;
//   retryable (429, 5xx, network) -> back off and try again, up to maxAttempts,
//     then 'held' like the two below;
//   configuration (RBAC, credentials, a namespace that does not exist) and
//   capacity (a full ResourceQuota) -> 'held': the item is fine, so it goes
//     back to its queue and its route pauses; never dead-lettered.
import type { V1Job } from '@kubernetes/client-node';
import { isKjdError, KjdError, type ErrorCategory } from '../errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { ANNOTATION_TTL_AFTER_FINISHED } from '../kube/labels.ts';
import type { JobTemplate } from '../template/index.ts';
import { sleep } from '../time/sleep.ts';
import type { WorkItem } from '../sources/source.ts';
import { checkItemLimits, DEFAULT_ITEM_LIMITS, type ItemLimits } from './item-limits.ts';

export class ItemNotJsonError extends KjdError {
  readonly code = 'ITEM_NOT_JSON';
  readonly category: ErrorCategory = 'permanent';
}

export type ItemOutcome =
  | { readonly kind: 'created'; readonly job: V1Job; readonly existed: boolean }
  /** The request already has a result (its Job ran, and may be gone): no second Job. */
  | { readonly kind: 'done'; readonly jobName: string }
  | { readonly kind: 'dead'; readonly code: string; readonly reason: string }
  /** Not the item's fault and not worth retrying in place: hand it back, pause its route. */
  | {
      readonly kind: 'held';
      readonly error: KjdError;
      /** When retries ran out: the Job's name, which may exist (a create whose answer was lost). */
      readonly jobName?: string;
    }
  | { readonly kind: 'abandoned' };

export interface HandleContext {
  readonly template: JobTemplate;
  readonly namespace: string;
  readonly kueueQueue?: string;
  /** Where the item's request id is unique (the route's idScope). */
  readonly idScope?: string;
  /** Labels added to every Job (the release's instance label). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Finalizers added to every Job (kjd serve's result finalizer). */
  readonly finalizers?: readonly string[];
  /**
   * The Job is held by an in-flight record instead of a finalizer (ADR 0009):
   * its template's ttlSecondsAfterFinished moves to an annotation, and kjd
   * deletes the Job that long after it finished, once its result is written.
   */
  readonly ownTtl?: boolean;
  /** Checked on the item's text before it is parsed. @default DEFAULT_ITEM_LIMITS */
  readonly itemLimits?: ItemLimits;
  /**
   * True when the request already has a result: its Job ran (and may since be
   * deleted), so it must not run again. Asked before every create.
   */
  readonly alreadyDone?: (requestId: string, idScope: string | undefined) => Promise<boolean>;
  /** Create, and delete to take back a second Job (undoIfDone): a narrow port, so tests can pass a fake. */
  readonly jobs: Pick<JobOperations, 'create' | 'delete'>;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly signal: AbortSignal;
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

/** The item's values: a JSON object; its `id` field is the request id, not a parameter. */
export function parseItem(
  payload: string,
  limits: ItemLimits = DEFAULT_ITEM_LIMITS,
): {
  values: Record<string, unknown>;
  whole: Record<string, unknown>;
} {
  checkItemLimits(payload, limits);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch (err) {
    throw new ItemNotJsonError(`the item is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ItemNotJsonError('the item must be a JSON object of parameter values');
  }
  const { id: _id, ...values } = parsed as Record<string, unknown>;
  return { values, whole: parsed as Record<string, unknown> };
}

export async function handleItem(item: WorkItem, ctx: HandleContext): Promise<ItemOutcome> {
  let job: V1Job;
  try {
    job = renderItem(item, ctx);
  } catch (err) {
    return deadOrThrow(err);
  }
  const done = async (): Promise<ItemOutcome | undefined> =>
    (await ctx.alreadyDone?.(item.requestId, ctx.idScope))
      ? { kind: 'done', jobName: job.metadata?.name ?? '' }
      : undefined;
  const outcome = await createJob(job, ctx, done);
  if (outcome.kind !== 'created' || outcome.existed || item.attempts < 2) return outcome;
  return (await undoIfDone(outcome.job, ctx, done)) ?? outcome;
}

/**
 * A redelivered item's first Job may end, get its result and be deleted (its
 * TTL, or a person) between the check before the create and the create,
 * which then makes a second Job under the same name. Asked once more after
 * the create, the result tells: the new Job is taken back before its Pod is
 * likely to have started. Only redeliveries are asked, so a first delivery
 * costs one check. Undefined: keep the Job (no result, or the delete failed,
 * in which case the Job runs and its result, written once, stays the first).
 */
async function undoIfDone(
  job: V1Job,
  ctx: HandleContext,
  done: () => Promise<ItemOutcome | undefined>,
): Promise<ItemOutcome | undefined> {
  const early = await done().catch(() => undefined);
  if (early === undefined) return undefined;
  try {
    await ctx.jobs.delete(job.metadata?.name ?? '', { namespace: ctx.namespace, signal: ctx.signal });
    return early;
  } catch {
    return undefined;
  }
}

/**
 * Creates `job`, retrying what is worth retrying (its name is fixed, so a
 * retry cannot make a second Job). `before`, asked before every attempt, may
 * end it early with its own outcome (the request already has a result).
 */
export async function createJob(
  job: V1Job,
  ctx: HandleContext,
  before?: () => Promise<ItemOutcome | undefined>,
): Promise<ItemOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const early = await before?.();
      if (early !== undefined) return early;
      const result = await ctx.jobs.create(job, { namespace: ctx.namespace, waitSignal: ctx.signal });
      return { kind: 'created', job: result.job, existed: !result.created };
    } catch (err) {
      const decided = decide(err, attempt, ctx, job.metadata?.name ?? '');
      if (decided !== undefined) return decided;
      ctx.onRetry?.(err, attempt);
      try {
        await sleep(
          Math.min(30_000, ctx.retryBaseMs * 2 ** Math.min(attempt, 8)) * (0.5 + Math.random() / 2),
          ctx.signal,
        );
      } catch {
        return { kind: 'abandoned' }; // stopping: the item stays in its source for the next taker
      }
    }
  }
}

/** The item's own Job, labelled and queued as the route asks. Throws what renderJob throws. */
export function renderItem(item: WorkItem, ctx: HandleContext): V1Job {
  const { values, whole } = parseItem(item.payload, ctx.itemLimits);
  const job = ctx.template.render({
    values,
    payload: whole,
    requestId: item.requestId,
    namespace: ctx.namespace,
    ...(ctx.idScope !== undefined ? { idScope: ctx.idScope } : {}),
  });
  if (ctx.kueueQueue !== undefined) queueForKueue(job, ctx.kueueQueue);
  decorate(job, ctx);
  return job;
}

/** What a failed attempt means for the item; undefined: back off and try again. */
function decide(err: unknown, attempt: number, ctx: HandleContext, jobName: string): ItemOutcome | undefined {
  // Stopping while the create waited for the rate limit: it was never sent.
  if (ctx.signal.aborted && !isKjdError(err)) return { kind: 'abandoned' };
  if (!isKjdError(err)) throw err;
  switch (err.category) {
    case 'permanent':
      return { kind: 'dead', code: err.code, reason: err.message };
    case 'configuration':
    case 'capacity':
      return { kind: 'held', error: err };
    case 'retryable':
      // Throttling, a server error, a broken connection: never the item's
      // fault, so never a dead letter. After maxAttempts tries it goes back to
      // its queue and its route pauses; the create may have landed, which the
      // next delivery finds (409, same request: the Job counts as made).
      return attempt >= ctx.maxAttempts ? { kind: 'held', error: err, jobName } : undefined;
  }
}

export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

/** Kueue admits a Job by unsuspending it; until then it waits in the LocalQueue. */
function queueForKueue(job: V1Job, queue: string): void {
  job.metadata ??= {};
  job.metadata.labels = { ...job.metadata.labels, [KUEUE_QUEUE_LABEL]: queue };
  if (job.spec !== undefined) job.spec.suspend = true;
}

function decorate(job: V1Job, ctx: HandleContext): void {
  job.metadata ??= {};
  if (ctx.labels !== undefined) job.metadata.labels = { ...job.metadata.labels, ...ctx.labels };
  if (ctx.finalizers !== undefined && ctx.finalizers.length > 0)
    job.metadata.finalizers = [...new Set([...(job.metadata.finalizers ?? []), ...ctx.finalizers])];
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ctx.ownTtl === true && job.spec !== undefined && ttl !== undefined) {
    job.metadata.annotations = { ...job.metadata.annotations, [ANNOTATION_TTL_AFTER_FINISHED]: String(ttl) };
    delete job.spec.ttlSecondsAfterFinished;
  }
}

export function deadOrThrow(err: unknown): ItemOutcome {
  if (isKjdError(err) && err.category === 'permanent')
    return { kind: 'dead', code: err.code, reason: err.message };
  throw err;
}
