// Seed 001's story on the real API server: a Pod's ServiceAccount token gets
// 403 Forbidden creating a Job until the seed's Role and RoleBinding exist;
// then create, list, get, patch and a Foreground delete behave as the seed
// expects. RBAC is decided by the real authorizer, never imitated.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import {
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1Job,
  type V1Role,
  type V1RoleBinding,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { podBehaviourAnnotations } from '../../harness/pod-behaviour.ts';
import { testEnv } from '../support/env.ts';
import {
  apiStatus,
  eventually,
  isGone,
  kubeConfigForToken,
  serviceAccountToken,
  useNamespace,
} from '../support/kube.ts';

// The seed's Job: perl computing pi, backoff_limit 4, label app=pi. Its Pod
// stays Running (outcome never) so the Foreground delete has Pods to remove.
function piJob(): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi' },
    spec: {
      backoffLimit: 4,
      template: {
        metadata: { labels: { app: 'pi' }, annotations: podBehaviourAnnotations({ outcome: 'never' }) },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'pi', image: 'perl', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'] },
          ],
        },
      },
    },
  };
}

async function seedManifests(namespace: string): Promise<{ role: V1Role; binding: V1RoleBinding }> {
  const text = (
    await readFile(new URL('../fixtures/seed-001-rbac.yaml', import.meta.url), 'utf8')
  ).replaceAll('namespace: default', `namespace: ${namespace}`);
  const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string });
  const role = docs.find((d) => d.kind === 'Role') as V1Role;
  const binding = docs.find((d) => d.kind === 'RoleBinding') as V1RoleBinding;
  return { role, binding };
}

describe('seed 001: a ServiceAccount creating Jobs under RBAC', () => {
  const ns = useNamespace('seed001');
  let namespace: string;
  let saBatch: BatchV1Api;
  let saCore: CoreV1Api;
  before(async () => {
    namespace = ns.name;
    const core = testEnv().admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'job-robot' } } });
    const kc = kubeConfigForToken(await serviceAccountToken(namespace, 'job-robot'), namespace);
    saBatch = kc.makeApiClient(BatchV1Api);
    saCore = kc.makeApiClient(CoreV1Api);
  });

  test('without a RoleBinding, creating a Job is 403 Forbidden naming the user and permission', async () => {
    const err: unknown = await saBatch.createNamespacedJob({ namespace, body: piJob() }).then(
      () => assert.fail('create should be forbidden'),
      (e: unknown) => e,
    );
    const status = apiStatus(err);
    assert.equal(status?.code, 403);
    assert.equal(status.reason, 'Forbidden');
    assert.equal(
      status.message,
      `jobs.batch is forbidden: User "system:serviceaccount:${namespace}:job-robot" cannot create resource "jobs" in API group "batch" in the namespace "${namespace}"`,
    );
  });

  test(
    "with the seed's Role and RoleBinding: create, list, get, patch, delete Foreground",
    { timeout: 120_000 },
    async () => {
      const rbac = testEnv().admin.makeApiClient(RbacAuthorizationV1Api);
      const { role, binding } = await seedManifests(namespace);
      await rbac.createNamespacedRole({ namespace, body: role });
      await rbac.createNamespacedRoleBinding({ namespace, body: binding });

      // The authorizer's RBAC cache follows the new binding within moments.
      const created = await eventually(
        'create to be allowed',
        async () => {
          try {
            return await saBatch.createNamespacedJob({ namespace, body: piJob() });
          } catch (err) {
            if (apiStatus(err)?.code === 403) return undefined;
            throw err;
          }
        },
        30_000,
      );
      assert.equal(created.metadata?.name, 'pi');

      const list = await saBatch.listNamespacedJob({ namespace });
      assert.deepEqual(
        list.items.map((j) => j.metadata?.name),
        ['pi'],
      );

      const pod = await eventually("the Job's Pod to run", async () => {
        const pods = await saCore.listNamespacedPod({ namespace, labelSelector: 'job-name=pi' });
        return pods.items.find((p) => p.status?.phase === 'Running');
      });
      // Status comes with the Job object (the seed reads it from the list); the seed's
      // Role does not grant the jobs/status subresource.
      const got = await saBatch.readNamespacedJob({ name: 'pi', namespace });
      assert.equal(got.status?.active, 1);

      // The seed sends its whole Job back with the same image; the Python client
      // sends a dict body as a strategic-merge patch (containers merge by name).
      // Nothing changes, so the API server accepts it.
      const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
      const patched = await saBatch.patchNamespacedJob({ name: 'pi', namespace, body: piJob() }, strategic);
      assert.equal(patched.spec?.template.spec?.containers[0]?.image, 'perl');
      // A different image is refused: a Job's Pod template is immutable.
      const changed = { spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl:5.40' }] } } } };
      const err: unknown = await saBatch
        .patchNamespacedJob({ name: 'pi', namespace, body: changed }, strategic)
        .then(
          () => assert.fail('changing the image of a Job should be refused'),
          (e: unknown) => e,
        );
      assert.equal(apiStatus(err)?.code, 422);
      assert.match(apiStatus(err)?.message ?? '', /spec\.template: Invalid value.*field is immutable/);

      // Foreground: the Pods go first, then the Job.
      await saBatch.deleteNamespacedJob({
        name: 'pi',
        namespace,
        propagationPolicy: 'Foreground',
        gracePeriodSeconds: 5,
      });
      const deleting = await saBatch.readNamespacedJob({ name: 'pi', namespace }).catch(() => undefined);
      if (deleting) assert.ok(deleting.metadata?.finalizers?.includes('foregroundDeletion'));
      await eventually('the Pod to be deleted', async () =>
        (await isGone(() => saCore.readNamespacedPod({ name: pod.metadata!.name!, namespace })))
          ? true
          : undefined,
      );
      await eventually('the Job to be deleted', async () =>
        (await isGone(() => saBatch.readNamespacedJob({ name: 'pi', namespace }))) ? true : undefined,
      );
    },
  );

  test("the seed's Role grants nothing else (secrets stay forbidden)", async () => {
    const err: unknown = await saCore.listNamespacedSecret({ namespace }).then(
      () => assert.fail('listing secrets should be forbidden'),
      (e: unknown) => e,
    );
    assert.equal(apiStatus(err)?.code, 403);
  });
});
