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
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let last: JobState | undefined;
  const observe = (job: V1Job): JobState => {
    const state = jobState(job);
    if (JSON.stringify(last) !== JSON.stringify(state)) options.onChange?.(state, job);
    last = state;
    return state;
  };
  try {
    for (;;) {
      const job = await jobs.get(name, options.namespace);
      const state = observe(job);
      if (isFinished(state)) return { job, state };
      const finished = await followUntilFinished(transport, name, options.namespace, job, observe, signal);
      if (finished !== undefined) return finished;
      // 410: the resourceVersion expired; read the Job again and watch from there.
    }
  } catch (err) {
    if (timeout.aborted && options.signal?.aborted !== true) {
      throw new JobWaitTimeoutError(name, timeoutMs, last ?? jobState({}));
    }
    throw err;
  }
}

/** Watches one Job from `from`'s resourceVersion until it finishes; undefined after a 410. */
async function followUntilFinished(
  transport: KubeTransport,
  name: string,
  namespace: string,
  from: V1Job,
  observe: (job: V1Job) => JobState,
  signal: AbortSignal,
): Promise<{ job: V1Job; state: JobState } | undefined> {
  let rv = from.metadata?.resourceVersion;
  try {
    for (;;) {
      const events = watchJobs(transport, {
        namespace,
        fieldSelector: `metadata.name=${name}`,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
        signal,
      });
      for await (const ev of events) {
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED') throw new JobDeletedError(name);
        const state = observe(ev.object);
        if (isFinished(state)) return { job: ev.object, state };
      }
      // The server ended the watch (timeoutSeconds): resume from the last event or bookmark.
    }
  } catch (err) {
    if (err instanceof KubeGoneError) return undefined;
    throw err;
  }
}
