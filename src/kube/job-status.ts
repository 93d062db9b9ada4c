// A Job's state in one word, derived from its conditions and Pod counters the
// way `kubectl get jobs` reads them. Pure: works on objects from a get, a list
// or a watch event (whose timestamps are strings, not Dates).
import type { V1Job, V1JobCondition } from '@kubernetes/client-node';

export type JobPhase = 'Pending' | 'Running' | 'Suspended' | 'Succeeded' | 'Failed';

export interface JobState {
  /**
   * Succeeded/Failed as soon as the outcome is decided (SuccessCriteriaMet /
   * FailureTarget), while the last Pods may still be terminating.
   */
  readonly phase: JobPhase;
  /** The Job controller set Complete or Failed: Pods are gone and the counters are final. */
  readonly finished: boolean;
  /** Condition reason, e.g. BackoffLimitExceeded, DeadlineExceeded. */
  readonly reason?: string;
  readonly message?: string;
  readonly active: number;
  readonly ready: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly startTime?: string;
  readonly completionTime?: string;
  /**
   * When the Job finished: completionTime for a Complete Job, the Failed
   * condition's time for a failed one (which has no completionTime).
   */
  readonly finishTime?: string;
}

const isTrue = (conditions: readonly V1JobCondition[], type: string) =>
  conditions.find((c) => c.type === type && c.status === 'True');

const iso = (d: Date | string | undefined): string | undefined =>
  d === undefined ? undefined : d instanceof Date ? d.toISOString() : d;

export function jobState(job: V1Job): JobState {
  const s = job.status ?? {};
  const conditions = s.conditions ?? [];
  const startTime = iso(s.startTime);
  const completionTime = iso(s.completionTime);
  const ready = s.ready ?? 0;
  const finishTime = completionTime ?? iso(isTrue(conditions, 'Failed')?.lastTransitionTime);
  return {
    ...phaseOf(conditions, ready),
    finished: isTrue(conditions, 'Complete') !== undefined || isTrue(conditions, 'Failed') !== undefined,
    active: s.active ?? 0,
    ready,
    succeeded: s.succeeded ?? 0,
    failed: s.failed ?? 0,
    ...(startTime !== undefined ? { startTime } : {}),
    ...(completionTime !== undefined ? { completionTime } : {}),
    ...(finishTime !== undefined ? { finishTime } : {}),
  };
}

function phaseOf(
  conditions: readonly V1JobCondition[],
  ready: number,
): { phase: JobPhase; reason?: string; message?: string } {
  // FailureTarget / SuccessCriteriaMet come first: the outcome is decided while Pods terminate.
  const failed = isTrue(conditions, 'Failed') ?? isTrue(conditions, 'FailureTarget');
  if (failed) return { phase: 'Failed', ...reasonOf(failed) };
  const done = isTrue(conditions, 'Complete') ?? isTrue(conditions, 'SuccessCriteriaMet');
  if (done) return { phase: 'Succeeded', ...reasonOf(done) };
  const suspended = isTrue(conditions, 'Suspended');
  if (suspended) return { phase: 'Suspended', ...reasonOf(suspended) };
  return { phase: ready > 0 ? 'Running' : 'Pending' };
}

function reasonOf(c: V1JobCondition): { reason?: string; message?: string } {
  return { ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) };
}

export const isFinished = (state: JobState): boolean => state.finished;
