// The results of a batch Job's items, one each, from the Job's status and its
// Pods. Pure, so the mapping from indexes and Pods to items is tested alone.
//
// A Pod per item: item i is index i; Succeeded or Failed as the index ended
// (completedIndexes / failedIndexes), with its Pod's exit code and message.
// itemsPerPod k > 1: item i ran in index floor(i / k), and that Pod's
// termination message holds a record per item (template/batch.ts): the
// item's own exit code decides its status, its message is its own.
import type { V1Pod } from '@kubernetes/client-node';
import type { JobState } from '../kube/job-status.ts';
import { containerOutcome, type ContainerOutcome } from '../kube/pod-outcome.ts';
import { itemRecords, parseIndexes } from '../template/index.ts';
import type { BatchRef, JobRef } from './job-tracker.ts';
import type { JobResult, ResultStatus } from './results.ts';

/** The Job controller's annotation on each Pod of an Indexed Job. */
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

/** How many indexes have ended, which the Pods read must cover. */
export function endedIndexes(batch: BatchRef): number {
  return parseIndexes(batch.completedIndexes).size + parseIndexes(batch.failedIndexes).size;
}

export function batchResults(
  ref: JobRef,
  batch: BatchRef,
  state: JobState | undefined,
  pods: readonly V1Pod[],
): JobResult[] {
  const finished = state?.finished === true;
  const completed = parseIndexes(batch.completedIndexes);
  const failed = parseIndexes(batch.failedIndexes);
  const perPod = batch.itemsPerPod ?? 1;
  const records = new Map<number, ReturnType<typeof itemRecords>>();
  const statusOf = (index: number): ResultStatus => {
    if (completed.has(index)) return 'Succeeded';
    if (failed.has(index) || (finished && state.phase === 'Failed')) return 'Failed';
    return finished ? 'Succeeded' : 'Deleted';
  };
  return batch.requestIds.map((requestId, item) => {
    const index = Math.floor(item / perPod);
    const status = statusOf(index);
    const own = pods.filter((p) => p.metadata?.annotations?.[COMPLETION_INDEX] === String(index));
    const outcome = status === 'Deleted' ? undefined : containerOutcome(own, status);
    if (perPod === 1) return resultOf(ref, requestId, item, status, state, outcome);
    if (!records.has(index)) records.set(index, itemRecords(outcome?.terminationMessage));
    const record = records.get(index)?.get(item);
    if (record === undefined) return resultOf(ref, requestId, item, status, state, undefined);
    const mine: ContainerOutcome = {
      container: outcome?.container ?? '',
      exitCode: record.exitCode,
      ...(record.message !== '' ? { terminationMessage: record.message } : {}),
    };
    const itemStatus = record.exitCode === 0 ? 'Succeeded' : 'Failed';
    return resultOf(ref, requestId, item, itemStatus, state, mine, 'ItemFailed');
  });
}

function resultOf(
  ref: JobRef,
  requestId: string,
  item: number,
  status: ResultStatus,
  state: JobState | undefined,
  outcome: ContainerOutcome | undefined,
  failedReason?: string,
): JobResult {
  return {
    requestId,
    ...(ref.idScope !== undefined ? { idScope: ref.idScope } : {}),
    jobName: ref.name,
    namespace: ref.namespace,
    template: ref.template,
    index: item,
    status,
    ...(status === 'Deleted'
      ? { reason: 'JobDeleted' }
      : status === 'Failed'
        ? { reason: failedReason ?? state?.reason ?? 'FailedIndexes' }
        : {}),
    ...(state?.startTime !== undefined ? { startTime: state.startTime } : {}),
    ...(state?.completionTime !== undefined ? { completionTime: state.completionTime } : {}),
    ...(outcome !== undefined ? { exitCode: outcome.exitCode } : {}),
    ...(outcome?.terminationMessage !== undefined ? { terminationMessage: outcome.terminationMessage } : {}),
  };
}
