// Throttling decided by the real API server: a FlowSchema sends one
// ServiceAccount's requests to a PriorityLevel with ~3 seats that rejects
// (429 + Retry-After) instead of queueing. Also: list paging with continue.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, FlowcontrolApiserverV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { KubeTooManyRequestsError } from '../../src/kube/errors.ts';
import { JobOperations } from '../../src/kube/jobs.ts';
import type { RequestEvent } from '../../src/kube/transport.ts';
import { testEnv } from '../support/env.ts';
import { grantRole, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { emulatePod, type EmulatedPod } from '../support/pod-emulation.ts';

describe('the transport under API Priority and Fairness', () => {
  const ns = useNamespace('throttle');
  const flowcontrol = () => testEnv().admin.makeApiClient(FlowcontrolApiserverV1Api);
  let pod: EmulatedPod;
  const plName = () => `kjd-test-${ns.name}`;

  before(async () => {
    const core = testEnv().admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: ns.name,
      body: { metadata: { name: 'throttled' } },
    });
    await grantRole(
      ns.name,
      'throttled',
      [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'create'] }],
      'jobs',
    );
    await flowcontrol().createPriorityLevelConfiguration({
      body: {
        metadata: { name: plName() },
        spec: {
          type: 'Limited',
          limited: {
            nominalConcurrencyShares: 1,
            lendablePercent: 0,
            borrowingLimitPercent: 0,
            limitResponse: { type: 'Reject' },
          },
        },
      },
    });
    await flowcontrol().createFlowSchema({
      body: {
        metadata: { name: plName() },
        spec: {
          priorityLevelConfiguration: { name: plName() },
          matchingPrecedence: 500,
          distinguisherMethod: { type: 'ByUser' },
          rules: [
            {
              subjects: [
                { kind: 'ServiceAccount', serviceAccount: { name: 'throttled', namespace: ns.name } },
              ],
              resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'] }],
            },
          ],
        },
      },
    });
    pod = await emulatePod(ns.name, await serviceAccountToken(ns.name, 'throttled'));
  });
  after(async () => {
    await flowcontrol()
      .deleteFlowSchema({ name: plName() })
      .catch(() => undefined);
    await flowcontrol()
      .deletePriorityLevelConfiguration({ name: plName() })
      .catch(() => undefined);
    await pod.remove();
  });

  const burst = (client: KubeClient, n: number) =>
    Promise.allSettled(Array.from({ length: n }, () => new JobOperations(client).list()));

  test('without retries, a burst meets 429s that carry Retry-After', { timeout: 60_000 }, async () => {
    const client = KubeClient.connect({
      mode: 'in-cluster',
      serviceAccountDir: pod.serviceAccountDir,
      env: pod.env,
      transport: { backoff: { maxRetries: 0, baseMs: 1, maxMs: 1 } },
    });
    try {
      let throttled: KubeTooManyRequestsError[] = [];
      // The FlowSchema takes effect within moments of its creation.
      for (let i = 0; i < 20 && throttled.length === 0; i++) {
        const results = await burst(client, 80);
        throttled = results.flatMap((r) =>
          r.status === 'rejected' && r.reason instanceof KubeTooManyRequestsError ? [r.reason] : [],
        );
        assert.ok(
          results.every((r) => r.status === 'fulfilled' || r.reason instanceof KubeTooManyRequestsError),
        );
      }
      assert.ok(throttled.length > 0, 'the API server throttled some requests');
      assert.ok(
        throttled.every((e) => e.retryAfterMs !== undefined && e.retryAfterMs > 0),
        'each 429 says when to come back',
      );
      assert.equal(throttled[0]?.category, 'retryable');
    } finally {
      await client.close();
    }
  });

  test(
    'with the default retries, the same burst all succeeds, some after a retry',
    { timeout: 60_000 },
    async () => {
      const events: RequestEvent[] = [];
      const client = KubeClient.connect({
        mode: 'in-cluster',
        serviceAccountDir: pod.serviceAccountDir,
        env: pod.env,
        transport: { onRequest: (e) => events.push(e) },
      });
      try {
        const results = await burst(client, 80);
        assert.deepEqual(
          results.filter((r) => r.status === 'rejected'),
          [],
        );
        assert.ok(
          events.some((e) => e.attempts > 1),
          'some requests were retried',
        );
      } finally {
        await client.close();
      }
    },
  );
});

describe('listing with continue', () => {
  const ns = useNamespace('paging');
  test('listAll walks every page', { timeout: 30_000 }, async () => {
    const client = KubeClient.connect({ kubeconfig: testEnv().kubeconfigPath, namespace: ns.name });
    const jobs = new JobOperations(client);
    try {
      for (let i = 0; i < 5; i++) {
        await jobs.create({
          metadata: { name: `j${i}` },
          spec: {
            suspend: true,
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } },
          },
        });
      }
      const first = await jobs.list({ limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.continue, 'a continue token');
      const names: string[] = [];
      for await (const j of jobs.listAll({ limit: 2 })) names.push(j.metadata?.name ?? '');
      assert.deepEqual(names, ['j0', 'j1', 'j2', 'j3', 'j4']);
    } finally {
      await client.close();
    }
  });
});
