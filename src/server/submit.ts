// POST /v1/jobs after authorization: the item to the dispatcher, and its
// outcome to an HTTP answer that says truthfully what happened. 202: the Job
// exists (made now, or already); 400/422: the item can never become a Job;
// 429: no room now, retry later with the same id; 503: kjd or the cluster
// cannot take it now, and no Job was made.
import type { Context } from 'hono';
import type { Dispatcher, Route, SubmitOutcome } from '../dispatch/dispatcher.ts';
import type { IncomingItem } from './cloudevents.ts';
import { HttpError } from './http-errors.ts';

/** Seconds a caller is told to wait when kjd is at a limit. */
const BUSY_RETRY_SECONDS = 2;
const BAD_INPUT = new Set(['ITEM_NOT_JSON', 'ITEM_TOO_LARGE']);

export async function submit(
  c: Context,
  dispatcher: Dispatcher,
  route: Route,
  namespace: string,
  item: IncomingItem,
  newId: () => string,
): Promise<Response> {
  const requestId = item.id ?? `http/${newId()}`;
  const outcome = await dispatcher.submit(
    route,
    { requestId, payload: JSON.stringify(item.payload), attempts: 1, receivedAtMs: Date.now() },
    c.req.raw.signal,
    namespace,
  );
  if (outcome.kind !== 'created' && outcome.kind !== 'done') throw refusal(outcome);
  const name = outcome.kind === 'done' ? outcome.jobName : (outcome.job.metadata?.name ?? '');
  const existed = outcome.kind === 'done' || outcome.existed;
  const status = `/v1/jobs/${name}?namespace=${encodeURIComponent(namespace)}`;
  c.header('Location', status);
  return c.json({ jobName: name, namespace, requestId, existed, status }, 202);
}

/** Why no Job was made, as the error the caller can act on. */
function refusal(outcome: Exclude<SubmitOutcome, { kind: 'created' } | { kind: 'done' }>): HttpError {
  switch (outcome.kind) {
    case 'busy':
      if (outcome.notReady === true)
        return new HttpError(
          503,
          'NOT_READY',
          `kjd is starting: ${outcome.reason}; retry later`,
          BUSY_RETRY_SECONDS,
        );
      return new HttpError(
        429,
        'AT_CAPACITY',
        `kjd is at a limit: ${outcome.reason}; retry later`,
        BUSY_RETRY_SECONDS,
      );
    case 'dead':
      if (outcome.code === 'ATTEMPTS_EXHAUSTED')
        return new HttpError(
          503,
          'KUBE_UNAVAILABLE',
          `no Job was created: ${outcome.reason}; retry with the same id`,
          5,
        );
      return new HttpError(BAD_INPUT.has(outcome.code) ? 400 : 422, outcome.code, outcome.reason);
    case 'held':
      return new HttpError(
        outcome.error.category === 'capacity' ? 429 : 503,
        outcome.error.code,
        `no Job was created: ${outcome.error.message}; retry with the same id`,
        5,
      );
    case 'abandoned':
      return new HttpError(503, 'STOPPING', 'kjd is stopping; no Job was created; retry with the same id', 5);
  }
}
