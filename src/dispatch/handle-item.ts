// One item to one Job: parse, render, create (idempotent by request id), then
// ack. Decides what a failure means:
//   permanent (bad JSON, bad parameters, too large, refused by the API) -> dead-letter;
//   retryable (429, 5xx, network) -> back off and try again, up to maxAttempts;
//   configuration (RBAC, credentials) -> back off and keep the item: the item is
//     fine, kjd is not, and /readyz says so.
import type { V1Job } from '@kubernetes/client-node';
import { isKjdError, KjdError, type ErrorCategory } from '../errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import type { JobTemplate } from '../template/index.ts';
import { sleep } from '../time/sleep.ts';
import type { WorkItem } from '../sources/source.ts';

export class ItemNotJsonError extends KjdError {
  readonly code = 'ITEM_NOT_JSON';
  readonly category: ErrorCategory = 'permanent';
}

export type ItemOutcome =
  | { readonly kind: 'created'; readonly job: V1Job; readonly existed: boolean }
  | { readonly kind: 'dead'; readonly code: string; readonly reason: string }
  | { readonly kind: 'abandoned' };

export interface HandleContext {
  readonly template: JobTemplate;
  readonly namespace: string;
  readonly kueueQueue?: string;
  /** Only create is needed: a narrow port, so tests can pass a fake of it. */
  readonly jobs: Pick<JobOperations, 'create'>;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly signal: AbortSignal;
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

/** The item's values: a JSON object; its `id` field is the request id, not a parameter. */
export function parseItem(payload: string): {
  values: Record<string, unknown>;
  whole: Record<string, unknown>;
} {
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
    const { values, whole } = parseItem(item.payload);
    job = ctx.template.render({
      values,
      payload: whole,
      requestId: item.requestId,
      namespace: ctx.namespace,
    });
    if (ctx.kueueQueue !== undefined) queueForKueue(job, ctx.kueueQueue);
  } catch (err) {
    return deadOrThrow(err);
  }
  for (let attempt = item.attempts; ; attempt++) {
    try {
      const result = await ctx.jobs.create(job, { namespace: ctx.namespace });
      return { kind: 'created', job: result.job, existed: !result.created };
    } catch (err) {
      if (isKjdError(err) && err.category === 'permanent') return deadOrThrow(err);
      const retryable = isKjdError(err) && err.category === 'retryable';
      if (retryable && attempt >= ctx.maxAttempts) {
        return {
          kind: 'dead',
          code: 'ATTEMPTS_EXHAUSTED',
          reason: `gave up after ${attempt} attempts: ${(err as Error).message}`,
        };
      }
      if (!isKjdError(err)) throw err;
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

export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

/** Kueue admits a Job by unsuspending it; until then it waits in the LocalQueue. */
function queueForKueue(job: V1Job, queue: string): void {
  job.metadata ??= {};
  job.metadata.labels = { ...job.metadata.labels, [KUEUE_QUEUE_LABEL]: queue };
  if (job.spec !== undefined) job.spec.suspend = true;
}

function deadOrThrow(err: unknown): ItemOutcome {
  if (isKjdError(err) && err.category === 'permanent')
    return { kind: 'dead', code: err.code, reason: err.message };
  throw err;
}
