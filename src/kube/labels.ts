// Labels and annotations kjd puts on what it creates and selects on. The
// single definition: src/template re-exports them. Never rename them: they
// are kjd's contract with clusters that already run Jobs it created.
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_KJD = 'kjd';
/**
 * Which kjd release (Helm release, or `instance` in kjd.yaml) made a Job: a
 * release counts, tracks and cleans up only its own Jobs.
 */
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
/** The raw request id of the item a Job was made for (labels are too short for it). */
export const ANNOTATION_REQUEST_ID = 'kjd.dev/request-id';
/**
 * The scope the request id is unique in (a route's `idScope`, by default its
 * name). Absent on Jobs made by `kjd launch` and by kjd before 0.2.
 */
export const ANNOTATION_ID_SCOPE = 'kjd.dev/id-scope';
/**
 * On a batch Job (a route's `batch`): the request ids of its items, a JSON
 * array in index order. It stands for the Job's request, as
 * ANNOTATION_REQUEST_ID does on a Job of one item.
 */
export const ANNOTATION_BATCH_REQUEST_IDS = 'kjd.dev/batch-request-ids';
/**
 * Set by `kjd serve` on batch Jobs (and on every Job with `results.holdWith:
 * finalizer`) and removed only once the Job's result is in Redis, so a Job
 * cannot vanish (TTL, cleanup, a person's delete) before its result is
 * recorded, even while kjd is down. Jobs of one item are held by an in-flight
 * record in Redis instead (ADR 0009).
 */
export const FINALIZER_RESULT = 'kjd.dev/result';
/**
 * On a Job of one item that carries no finalizer (ADR 0009): its template's
 * ttlSecondsAfterFinished, which kjd took off the Job and applies itself once
 * the result is written, so that the TTL controller cannot delete the Job
 * (and its outcome) before kjd has read it.
 */
export const ANNOTATION_TTL_AFTER_FINISHED = 'kjd.dev/ttl-seconds-after-finished';
/** The Job controller's label on a Job's Pods. */
export const JOB_NAME_POD_LABEL = 'batch.kubernetes.io/job-name';

/**
 * The key one request is known by, everywhere exactly-once is decided: the
 * Job name's hash and the result record. Ids are unique per scope, so an HTTP
 * caller cannot claim the id of another route's item.
 */
export function requestKey(requestId: string, idScope: string | undefined): string {
  return idScope === undefined ? requestId : `${idScope}/${requestId}`;
}
