import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { containerOutcome, describeOutcome } from './pod-outcome.ts';

const pod = (exitCode: number, finishedAt: string, message?: string, reason?: string): V1Pod => ({
  status: {
    containerStatuses: [
      {
        name: 'worker',
        image: 'w',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode,
            finishedAt: finishedAt as unknown as Date, // a watch event carries strings
            ...(message !== undefined ? { message } : {}),
            ...(reason !== undefined ? { reason } : {}),
          },
        },
      },
    ],
  },
});

test('a failed Job reports the latest non-zero exit and its termination message', () => {
  const pods = [
    pod(2, '2026-01-01T00:00:01Z', 'first try'),
    pod(3, '2026-01-01T00:00:05Z', 'bad input: 42\n', 'Error'),
    pod(0, '2026-01-01T00:00:09Z', 'ok'),
  ];
  assert.deepEqual(containerOutcome(pods, 'Failed'), {
    container: 'worker',
    exitCode: 3,
    terminationMessage: 'bad input: 42',
    reason: 'Error',
  });
});

test('a succeeded Job reports exit 0 with its message; none when the container wrote none', () => {
  assert.deepEqual(containerOutcome([pod(0, '2026-01-01T00:00:01Z', 'done: 7')], 'Succeeded'), {
    container: 'worker',
    exitCode: 0,
    terminationMessage: 'done: 7',
  });
  assert.deepEqual(containerOutcome([pod(0, '2026-01-01T00:00:01Z', '  ')], 'Succeeded'), {
    container: 'worker',
    exitCode: 0,
  });
});

test('no terminated container of the wanted kind: undefined', () => {
  assert.equal(containerOutcome([], 'Failed'), undefined);
  assert.equal(containerOutcome([{ status: {} }], 'Succeeded'), undefined);
  assert.equal(containerOutcome([pod(0, '2026-01-01T00:00:01Z')], 'Failed'), undefined);
});

test('described for people', () => {
  assert.equal(
    describeOutcome({ container: 'worker', exitCode: 3, reason: 'Error', terminationMessage: 'bad' }),
    'container worker exited 3 (Error): bad',
  );
  assert.equal(describeOutcome({ container: 'w', exitCode: 0 }), 'container w exited 0');
});
