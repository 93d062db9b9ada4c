// Labels and annotations kjd puts on what it creates and selects on. The
// single definition: src/template re-exports them. Never rename them: they
// are kjd's contract with clusters that already run Jobs it created.
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_KJD = 'kjd';
/** The raw request id of the item a Job was made for (labels are too short for it). */
export const ANNOTATION_REQUEST_ID = 'kjd.dev/request-id';
/** The Job controller's label on a Job's Pods. */
export const JOB_NAME_POD_LABEL = 'batch.kubernetes.io/job-name';
