// Waiting for a Job to finish without missing a transition: read it, then
// watch from the read's resourceVersion; on a 410 read again; on the server's
// watch timeout resume from the last event or bookmark.
import type { V1Job } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { KubeGoneError } from './errors.ts';
import { isFinished, jobState, type JobState } from './job-status.ts';
import type { JobOperations } from './jobs.ts';
import type { KubeTransport } from './transport.ts';
import { watchJobs } from './watch.ts';

export class JobWaitTimeoutError extends KjdError {
  readonly code = 'JOB_WAIT_TIMEOUT';
  readonly category: ErrorCategory = 'retryable';
  readonly state: JobState;
  constructor(name: string, timeoutMs: number, state: JobState) {
    super(`Job "${name}" still ${state.phase} after ${Math.round(timeoutMs / 1000)} s`);
    this.state = state;
  }
}

export class JobDeletedError extends KjdError {
  readonly code = 'JOB_DELETED';
  readonly category: ErrorCategory = 'permanent';
  constructor(name: string) {
    super(`Job "${name}" was deleted before it finished`);
  }
}

export interface WaitOptions {
  readonly namespace: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called on every observed change of state (phase or counters). */
  readonly onChange?: (state: JobState, job: V1Job) => void;
}

export async function waitForJob(
  jobs: JobOperations,
  transport: KubeTransport,
  name: string,
  options: WaitOptions,
): Promise<{ job: V1Job; state: JobState }> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10 * 60_000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let last: JobState | undefined;
  const observe = (job: V1Job) => {
    const state = jobState(job);
    if (last === undefined || JSON.stringify(last) !== JSON.stringify(state)) options.onChange?.(state, job);
    last = state;
    return state;
  };
  try {
    for (;;) {
      let job = await jobs.get(name, options.namespace);
      if (isFinished(observe(job))) return { job, state: jobState(job) };
      let rv = job.metadata?.resourceVersion;
      try {
        for (;;) {
          for await (const ev of watchJobs(transport, {
            namespace: options.namespace,
            fieldSelector: `metadata.name=${name}`,
            ...(rv !== undefined ? { resourceVersion: rv } : {}),
            signal,
          })) {
            rv = ev.object.metadata?.resourceVersion ?? rv;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') throw new JobDeletedError(name);
            job = ev.object;
            if (isFinished(observe(job))) return { job, state: jobState(job) };
          }
        }
      } catch (err) {
        if (!(err instanceof KubeGoneError)) throw err;
      }
    }
  } catch (err) {
    if (timeout.aborted && !(options.signal?.aborted ?? false)) {
      throw new JobWaitTimeoutError(name, options.timeoutMs ?? 600_000, last ?? jobState({}));
    }
    throw err;
  }
}
