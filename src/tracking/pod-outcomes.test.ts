import assert from 'node:assert/strict';
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
