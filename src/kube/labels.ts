// Labels and annotations kjd puts on what it creates and selects on.
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kjd';
/** The Job controller's label on a Job's Pods. */
export const JOB_NAME_POD_LABEL = 'batch.kubernetes.io/job-name';
/** The raw request id of the item a Job was made for. */
export const REQUEST_ID_ANNOTATION = 'kjd.dev/request-id';
