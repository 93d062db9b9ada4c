import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { KubeForbiddenError } from '../kube/errors.ts';
import type { KubeTransport } from '../kube/transport.ts';
import { PodOutcomes } from './pod-outcomes.ts';

const forbidden = () =>
  new KubeForbiddenError({
    status: {
      code: 403,
      reason: 'Forbidden',
      message: 'pods is forbidden: User "system:serviceaccount:a:kjd"',
    },
    request: undefined,
    method: 'GET',
    url: '/api/v1/namespaces/a/pods',
    credential: 'test',
  });

test('a namespace whose Pods kjd may not watch answers at once, so the result lists the Pods instead', async () => {
  let versions = 0;
  const outcomes = new PodOutcomes({
    jobs: {
      podsVersion: () => {
        versions++;
        return Promise.reject(forbidden());
      },
    },
    transport: {} as KubeTransport,
    namespaces: ['a'],
    logger: pino({ level: 'silent' }),
  });
  outcomes.start();
  await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  assert.equal(await outcomes.outcome('a', 'worker-1', 'Succeeded', 5_000), undefined);
  assert.ok(Date.now() - started < 1000, 'no wait for a watch that is not running');
  await outcomes.stop();
  assert.equal(versions, 1, 'a 403 is not retried in a loop');
});

/** An ended Pod of Job `job` as the watch sends it: one container that exited `code` at `at`. */
const podEvent = (job: string, name: string, code: number, at: number) =>
  JSON.stringify({
    type: 'ADDED',
    object: {
      metadata: { name, resourceVersion: String(at), labels: { 'batch.kubernetes.io/job-name': job } },
      status: {
        phase: code === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: 'worker',
            restartCount: 0,
            state: { terminated: { exitCode: code, finishedAt: new Date(at).toISOString() } },
          },
        ],
      },
    },
  }) + '\n';

test('a Job retried after failures: the outcome waits for as many ended Pods as the Job counted, and takes the last', async () => {
  const body = new PassThrough();
  const outcomes = new PodOutcomes({
    jobs: { podsVersion: () => Promise.resolve('1') },
    transport: {
      stream: () => Promise.resolve({ status: 200, headers: {}, body }),
    } as unknown as KubeTransport,
    namespaces: ['a'],
    logger: pino({ level: 'silent' }),
  });
  outcomes.start();
  body.write(podEvent('w', 'w-1', 2, 1000));
  await new Promise((r) => setTimeout(r, 50));
  // The Job counted two failed Pods; the watch has shown one: not enough, and no guess.
  assert.equal(await outcomes.outcome('a', 'w', 'Failed', 50, 2), undefined);
  // The watch now lags (a wait ran out): no more waits until it delivers again.
  const waiting = outcomes.outcome('a', 'w', 'Failed', 5_000, 2);
  assert.equal(await waiting, undefined);
  body.write(podEvent('w', 'w-2', 3, 2000));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await outcomes.outcome('a', 'w', 'Failed', 1_000, 2))?.exitCode, 3);
  // Delivered while a result waits: the wait ends as soon as it is there.
  const pending = outcomes.outcome('a', 'v', 'Succeeded', 5_000);
  body.write(podEvent('v', 'v-1', 0, 3000));
  const started = Date.now();
  assert.equal((await pending)?.exitCode, 0);
  assert.ok(Date.now() - started < 1000);
  outcomes.forget('a', 'v');
  assert.equal(await outcomes.outcome('a', 'v', 'Succeeded', 0), undefined);
  body.end();
  await outcomes.stop();
});
