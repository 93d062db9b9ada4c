// Which result each item of a batch Job gets, from the Job's indexes and its
// Pods: a Pod per item, several items per Pod, and a Job deleted midway.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { JobState } from '../kube/job-status.ts';
import { batchResults, COMPLETION_INDEX } from './batch-results.ts';
import type { JobRef } from './job-tracker.ts';

const ref: JobRef = {
  name: 'b-1',
  namespace: 'ns',
  requestId: undefined,
  idScope: 'r',
  template: 't',
  finalizers: [],
};

function pod(index: number, exitCode: number, message?: string): V1Pod {
  return {
    metadata: { annotations: { [COMPLETION_INDEX]: String(index) } },
    status: {
      containerStatuses: [
        {
          name: 'main',
          image: 'i',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode,
              finishedAt: new Date(),
              ...(message !== undefined ? { message } : {}),
            },
          },
        },
      ],
    },
  };
}

const finished = (phase: 'Succeeded' | 'Failed', reason?: string): JobState => ({
  phase,
  finished: true,
  active: 0,
  ready: 0,
  succeeded: 0,
  failed: 0,
  ...(reason !== undefined ? { reason } : {}),
});

test('a Pod per item: each item as its index ended, with its own Pod exit code', () => {
  const rs = batchResults(
    ref,
    { requestIds: ['a', 'b', 'c'], completedIndexes: '0,2', failedIndexes: '1' },
    finished('Failed', 'FailedIndexes'),
    [pod(0, 0), pod(1, 3, 'bad'), pod(2, 0, 'ok')],
  );
  assert.deepEqual(
    rs.map((r) => [r.requestId, r.index, r.status, r.reason, r.exitCode, r.terminationMessage]),
    [
      ['a', 0, 'Succeeded', undefined, 0, undefined],
      ['b', 1, 'Failed', 'FailedIndexes', 3, 'bad'],
      ['c', 2, 'Succeeded', undefined, 0, 'ok'],
    ],
  );
});

test('several items per Pod: each item from its own record in its Pod termination message', () => {
  const record = ['kjd-items', '0\t0\tfine', '1\t3\tbroke  ', 'end'].join('\n');
  const rs = batchResults(
    ref,
    { requestIds: ['a', 'b', 'c'], itemsPerPod: 2, completedIndexes: '0-1' },
    finished('Succeeded'),
    [pod(0, 0, record), pod(1, 0)],
  );
  assert.deepEqual(
    rs.map((r) => [r.index, r.status, r.reason, r.exitCode, r.terminationMessage]),
    [
      [0, 'Succeeded', undefined, 0, 'fine'],
      [1, 'Failed', 'ItemFailed', 3, 'broke  '],
      // Its Pod succeeded but left no record (kwok, or a message cut short): the
      // Pod's word for its status, and no exit code, since the item's own is unknown.
      [2, 'Succeeded', undefined, undefined, undefined],
    ],
  );
});

test('deleted before it finished: ended indexes keep their outcome, the rest are Deleted', () => {
  const rs = batchResults(ref, { requestIds: ['a', 'b'], completedIndexes: '0' }, undefined, []);
  assert.deepEqual(
    rs.map((r) => [r.status, r.reason]),
    [
      ['Succeeded', undefined],
      ['Deleted', 'JobDeleted'],
    ],
  );
});
