// The test control plane is a real one: the scheduler binds the Pod to a kwok
// Node, kwok runs it, the Job controller marks the Job Complete or Failed, and
// the TTL-after-finished controller deletes it. Each assertion below depends
// on one of those components; none is imitated.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { BatchV1Api, CoreV1Api, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { podBehaviourAnnotations, type PodBehaviour } from '../../harness/pod-behaviour.ts';
import { testEnv } from '../support/env.ts';
import { eventually, isGone, useNamespace } from '../support/kube.ts';

function job(name: string, behaviour: PodBehaviour, spec: Partial<NonNullable<V1Job['spec']>> = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: {
        metadata: { annotations: podBehaviourAnnotations(behaviour) },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'worker', image: 'worker:test', command: ['true'] }],
        },
      },
    },
  };
}

function finishedCondition(j: V1Job): string | undefined {
  return j.status?.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )?.type;
}

describe('a Job on the local control plane', () => {
  const ns = useNamespace('lifecycle');
  let namespace: string;
  let batch: BatchV1Api;
  let core: CoreV1Api;
  before(() => {
    namespace = ns.name;
    batch = testEnv().admin.makeApiClient(BatchV1Api);
    core = testEnv().admin.makeApiClient(CoreV1Api);
  });

  const podsOf = async (jobName: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${jobName}` }))
      .items;

  test(
    'is scheduled onto a kwok Node, completes, and is removed by ttlSecondsAfterFinished',
    { timeout: 120_000 },
    async () => {
      await batch.createNamespacedJob({
        namespace,
        body: job('completes', { runMs: 1500 }, { ttlSecondsAfterFinished: 2 }),
      });

      // The real scheduler bound the Pod to one of the kwok Nodes, and kwok ran it.
      const running = await eventually('the Pod to be Running on a kwok Node', async () => {
        const pod = (await podsOf('completes')).find((p) => p.status?.phase === 'Running');
        return pod?.spec?.nodeName ? pod : undefined;
      });
      assert.ok(testEnv().nodeNames.includes(running.spec!.nodeName!), `bound to ${running.spec!.nodeName!}`);

      // The real Job controller counted the Pod's success and marked the Job Complete.
      const done = await eventually('the Job to finish', async () => {
        const j = await batch.readNamespacedJobStatus({ name: 'completes', namespace });
        return finishedCondition(j) ? j : undefined;
      });
      assert.equal(finishedCondition(done), 'Complete');
      assert.equal(done.status?.succeeded, 1);
      assert.ok(done.status.completionTime, 'completionTime set');

      // The TTL-after-finished controller deleted it, and the garbage collector its Pod.
      await eventually('the TTL controller to delete the Job', async () =>
        (await isGone(() => batch.readNamespacedJob({ name: 'completes', namespace }))) ? true : undefined,
      );
      await eventually("the Job's Pod to be garbage-collected", async () =>
        (await podsOf('completes')).length === 0 ? true : undefined,
      );
    },
  );

  test('whose Pod fails, with backoffLimit 0, is marked Failed', { timeout: 120_000 }, async () => {
    await batch.createNamespacedJob({ namespace, body: job('fails', { outcome: 'fail', exitCode: 3 }) });

    const failed = await eventually('the Job to finish', async () => {
      const j = await batch.readNamespacedJobStatus({ name: 'fails', namespace });
      return finishedCondition(j) ? j : undefined;
    });
    assert.equal(finishedCondition(failed), 'Failed');
    const condition = failed.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(condition?.reason, 'BackoffLimitExceeded');
    assert.equal(failed.status?.failed, 1);

    // The exit code the test asked for is what the Pod reports.
    const [pod] = await podsOf('fails');
    assert.equal(pod?.status?.phase, 'Failed');
    assert.equal(pod.status.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
  });
});
