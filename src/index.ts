// The public API of kube-job-dispatcher. Everything a user may import is
// listed here by name; modules not exported here are internal.
export { VERSION } from './version.ts';
export { KjdError, isKjdError } from './errors.ts';
export type { ErrorCategory } from './errors.ts';

// Connecting to a cluster and the Job lifecycle.
export { KubeClient } from './kube/client.ts';
export type { KubeClientOptions } from './kube/client.ts';
export { ConnectionConfigError, DEFAULT_SERVICE_ACCOUNT_DIR, resolveConnection } from './kube/connection.ts';
export type { ConnectOptions, Connection } from './kube/connection.ts';
export { CredentialsError } from './kube/credentials.ts';
export type { TransportOptions, RequestEvent } from './kube/transport.ts';
export type { RateLimit } from './kube/rate-limiter.ts';
export {
  KubeApiError,
  KubeConflictError,
  KubeForbiddenError,
  KubeGoneError,
  KubeInvalidError,
  KubeNetworkError,
  KubeNotFoundError,
  KubeRequestError,
  KubeServerError,
  KubeTooManyRequestsError,
  KubeUnauthorizedError,
} from './kube/errors.ts';
export { JobNameConflictError, JobOperations } from './kube/jobs.ts';
export type { CreateResult, ListPage, PatchType, Propagation } from './kube/jobs.ts';
export { isFinished, jobState } from './kube/job-status.ts';
export type { JobPhase, JobState } from './kube/job-status.ts';
export { JobDeletedError, JobWaitTimeoutError, waitForJob } from './kube/wait.ts';
export type { WaitOptions } from './kube/wait.ts';
export { watchJobs } from './kube/watch.ts';
export type { WatchEvent, WatchEventType, WatchJobsOptions } from './kube/watch.ts';
export { NoPodsError, streamJobLogs } from './kube/logs.ts';
export type { LogOptions } from './kube/logs.ts';
export { REQUIRED_PERMISSIONS, checkAccess, roleYaml } from './kube/access.ts';
export type { AccessResult, Permission } from './kube/access.ts';
export {
  ANNOTATION_REQUEST_ID,
  JOB_NAME_POD_LABEL,
  LABEL_MANAGED_BY,
  MANAGED_BY_KJD,
} from './kube/labels.ts';

// Job templates.
export {
  NamespaceInvalidError,
  ParameterError,
  PayloadTooLargeError,
  RequestIdInvalidError,
  TemplateError,
  jobNameFor,
  loadTemplate,
  parseTemplate,
  shellQuote,
} from './template/index.ts';
export type {
  JobTemplate,
  ParameterSpec,
  ParameterType,
  RenderRequest,
  TemplateOptions,
} from './template/index.ts';
