import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import pino from 'pino';
import { jobState } from '../kube/job-status.ts';
import { ANNOTATION_BATCH_REQUEST_IDS, ANNOTATION_REQUEST_ID } from '../kube/labels.ts';
import { COMPLETION_INDEX } from './batch-results.ts';
import { ResultRecorder, type OutcomeSource } from './result-recorder.ts';
import type { ContainerOutcome } from '../kube/pod-outcome.ts';
import type { JobResult } from './results.ts';

const job: V1Job = {
  metadata: { name: 'worker-a', namespace: 'ns', annotations: { [ANNOTATION_REQUEST_ID]: 'a' } },
  status: { failed: 1, conditions: [{ type: 'Failed', status: 'True' }] },
};

/** The status of a Pod whose one container ended with `exitCode` and `message`. */
const terminated = (exitCode: number, message: string): NonNullable<V1Pod['status']> => ({
  containerStatuses: [
    {
      name: 'worker',
      image: 'w',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode, message, finishedAt: new Date(1) } },
    },
  ],
});

const ended: V1Pod = {
  metadata: { name: 'worker-a-x1', creationTimestamp: new Date(0) },
  status: terminated(3, 'bad input'),
};

/** A fake of kjd's own Job operations: what the watch cache and a consistent read answer. */
function recorderWith(cached: V1Pod[], consistent: V1Pod[], watched?: ContainerOutcome) {
  const reads: ('cached' | 'consistent')[] = [];
  const written: JobResult[] = [];
  const sources: OutcomeSource[] = [];
  const forgotten: string[] = [];
  const recorder = new ResultRecorder({
    ...(watched !== undefined
      ? {
          podOutcomes: {
            outcome: () => Promise.resolve(watched),
            forget: (ns: string, name: string) => forgotten.push(`${ns}/${name}`),
          },
        }
      : {}),
    onOutcome: (source) => sources.push(source),
    jobs: {
      pods: (_name, _ns, _signal, options) => {
        reads.push(options?.cached === true ? 'cached' : 'consistent');
        return Promise.resolve(options?.cached === true ? cached : consistent);
      },
      removeFinalizer: () => Promise.resolve(),
    },
    results: {
      write: (r) => {
        written.push(r);
        return Promise.resolve(true);
      },
    },
    logger: pino({ level: 'silent' }),
  });
  return { recorder, reads, written, sources, forgotten };
}

test("the container's outcome comes from the watch cache when it has it: one cheap read", async () => {
  const { recorder, reads, written } = recorderWith([ended], []);
  recorder.finished(job, jobState(job));
  await recorder.stop(5000);
  assert.deepEqual(reads, ['cached']);
  assert.equal(written[0]?.exitCode, 3);
});

test("with the Pod watch showing the container's end, no Pods are read, and it forgets the Job after the result", async () => {
  const watched = { container: 'worker', exitCode: 4, terminationMessage: 'from the watch' };
  const { recorder, reads, written, sources, forgotten } = recorderWith([ended], [ended], watched);
  recorder.finished(job, jobState(job));
  await recorder.stop(5000);
  assert.deepEqual(reads, []);
  assert.deepEqual(sources, ['watch']);
  assert.deepEqual(forgotten, ['ns/worker-a']);
  assert.deepEqual(
    written.map((r) => [r.exitCode, r.terminationMessage]),
    [[4, 'from the watch']],
  );
});

test('without the watch, the outcome is read from a list, and counted as such', async () => {
  const { recorder, reads, sources } = recorderWith([ended], []);
  recorder.finished(job, jobState(job));
  await recorder.stop(5000);
  assert.deepEqual(reads, ['cached']);
  assert.deepEqual(sources, ['list']);
});

test('a watch cache that lags (no terminated container yet) is followed by a consistent read', async () => {
  const { recorder, reads, written } = recorderWith([], [ended]);
  recorder.finished(job, jobState(job));
  await recorder.stop(5000);
  assert.deepEqual(reads, ['cached', 'consistent']);
  const [result] = written;
  assert.ok(result !== undefined);
  assert.equal(result.exitCode, 3);
  assert.equal(result.terminationMessage, 'bad input');
});

/** A running batch Job of three items whose `completed` indexes have ended. */
function batchJob(completed: string | undefined, finished = false): V1Job {
  return {
    metadata: {
      name: 'batch-b',
      namespace: 'ns',
      annotations: { [ANNOTATION_BATCH_REQUEST_IDS]: JSON.stringify(['x', 'y', 'z']) },
    },
    status: {
      ...(completed !== undefined ? { completedIndexes: completed } : {}),
      ...(finished ? { succeeded: 3, conditions: [{ type: 'Complete', status: 'True' }] } : { active: 1 }),
    },
  };
}

const podOf = (index: number, message: string): V1Pod => ({
  metadata: { name: `batch-b-${String(index)}`, annotations: { [COMPLETION_INDEX]: String(index) } },
  status: Object.assign(terminated(0, message), { phase: 'Succeeded' }),
});

test("a running batch Job's ended indexes get their results at once, and only once", async () => {
  const pods = [podOf(0, 'zero')];
  const { recorder, written } = recorderWith(pods, pods);
  recorder.indexesEnded(batchJob('0'));
  await recorder.idle();
  assert.deepEqual(
    written.map((r) => [r.requestId, r.status, r.terminationMessage]),
    [['x', 'Succeeded', 'zero']],
  );
  // Two more end; the finish then writes only what is left.
  pods.push(podOf(1, 'one'));
  recorder.indexesEnded(batchJob('0-1'));
  await recorder.idle();
  pods.push(podOf(2, 'two'));
  const done = batchJob('0-2', true);
  recorder.finished(done, jobState(done));
  await recorder.stop(5000);
  assert.deepEqual(
    written.map((r) => [r.requestId, r.index, r.terminationMessage]),
    [
      ['x', 0, 'zero'],
      ['y', 1, 'one'],
      ['z', 2, 'two'],
    ],
  );
});
