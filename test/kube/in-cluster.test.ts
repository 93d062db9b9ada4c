// kjd's library inside an (emulated) Pod, against the real API server: the
// seed-001 flow under the seed's RBAC, the 403 story with a message that names
// the missing permission and the fix, and a rotated token file picked up at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { podBehaviourAnnotations } from '../../harness/pod-behaviour.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { KubeForbiddenError, KubeInvalidError, KubeUnauthorizedError } from '../../src/kube/errors.ts';
import { jobState } from '../../src/kube/job-status.ts';
import { JobOperations } from '../../src/kube/jobs.ts';
import { waitForJob } from '../../src/kube/wait.ts';
import { testEnv } from '../support/env.ts';
import {
  apiStatus,
  eventually,
  grantRole,
  isGone,
  kubeConfigForToken,
  SEED_001_RULES,
  useNamespace,
} from '../support/kube.ts';
import { emulatePod, revocableToken } from '../support/pod-emulation.ts';

const piJob = (name: string, outcome: 'never' | 'succeed' = 'never'): V1Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 4,
    template: {
      metadata: { labels: { app: 'pi' }, annotations: podBehaviourAnnotations({ outcome, runMs: 300 }) },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'pi', image: 'perl', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'] },
        ],
      },
    },
  },
});

describe('the kjd library in a Pod', () => {
  const ns = useNamespace('incluster');
  let client: KubeClient;
  let jobs: JobOperations;
  let pod: Awaited<ReturnType<typeof emulatePod>>;
  let tokenA: string;

  before(async () => {
    const core = testEnv().admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: ns.name,
      body: { metadata: { name: 'job-robot' } },
    });
    tokenA = await revocableToken(ns.name, 'job-robot', 'token-a');
    pod = await emulatePod(ns.name, tokenA);
    client = KubeClient.connect({
      mode: 'in-cluster',
      serviceAccountDir: pod.serviceAccountDir,
      env: pod.env,
    });
    jobs = new JobOperations(client);
  });
  after(async () => {
    await client.close();
    await pod.remove();
  });

  test('reads the namespace, server and CA from the Pod', () => {
    assert.equal(client.namespace, ns.name);
    assert.equal(client.connection.server, testEnv().server);
    assert.match(client.connection.credentials.description, /token file .*\/token$/);
  });

  test('without a RoleBinding: a 403 that names the user, the permission and the fix', async () => {
    const err = await jobs.create(piJob('pi')).then(
      () => assert.fail('create should be forbidden'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeForbiddenError, String(err));
    assert.equal(err.user, `system:serviceaccount:${ns.name}:job-robot`);
    assert.deepEqual(
      {
        verb: err.request?.verb,
        group: err.request?.group,
        resource: err.request?.resource,
        namespace: err.request?.namespace,
      },
      { verb: 'create', group: 'batch', resource: 'jobs', namespace: ns.name },
    );
    assert.equal(err.category, 'configuration');
    assert.match(
      err.message,
      new RegExp(
        `system:serviceaccount:${ns.name}:job-robot may not create jobs.batch in namespace "${ns.name}"`,
      ),
    );
    assert.match(err.hint(), /- apiGroups: \["batch"\]\n {2}resources: \["jobs"\]\n {2}verbs: \["create"\]/);
    assert.match(
      err.hint(),
      new RegExp(
        `kubectl create rolebinding kjd --namespace ${ns.name} --role=kjd --serviceaccount=${ns.name}:job-robot`,
      ),
    );
  });

  test(
    "seed 001's flow with the seed's Role: create, list, status, patch image, delete Foreground",
    { timeout: 90_000 },
    async () => {
      await grantRole(ns.name, 'job-robot', SEED_001_RULES);
      const { job, created } = await eventually('the RoleBinding to take effect', async () => {
        try {
          return await jobs.create(piJob('pi'));
        } catch (err) {
          if (err instanceof KubeForbiddenError) return undefined;
          throw err;
        }
      });
      assert.equal(created, true);
      assert.equal(job.metadata?.name, 'pi');

      const page = await jobs.list();
      assert.deepEqual(
        page.items.map((j) => j.metadata?.name),
        ['pi'],
      );

      const running = await eventually('the Job to be Running', async () => {
        const state = jobState(await jobs.get('pi'));
        return state.phase === 'Running' ? state : undefined;
      });
      assert.equal(running.active, 1);

      // The same image is a no-op; a new one is refused, and the error says why and what can change.
      await jobs.setImage('pi', 'perl');
      const err = await jobs.setImage('pi', 'perl:5.40').then(
        () => assert.fail('a new image for an existing Job must be refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof KubeInvalidError, String(err));
      assert.equal(err.statusCode, 422);
      assert.deepEqual(err.fields, [{ field: 'spec.template', detail: 'field is immutable' }]);
      assert.equal(err.message, 'invalid Job "pi": spec.template: field is immutable');
      assert.match(err.hint() ?? '', /cannot change once the Job exists/);

      const [podBefore] = await jobs.pods('pi');
      assert.ok(podBefore);
      await jobs.delete('pi', { propagation: 'Foreground', gracePeriodSeconds: 5 });
      await eventually('the Pod to go', async () =>
        (await isGone(() =>
          testEnv()
            .admin.makeApiClient(CoreV1Api)
            .readNamespacedPod({ name: podBefore.metadata!.name!, namespace: ns.name }),
        ))
          ? true
          : undefined,
      );
      await eventually('the Job to go', async () =>
        (await isGone(() => jobs.get('pi'))) ? true : undefined,
      );
    },
  );

  test('waits for a Job through the watch, from the read resourceVersion', { timeout: 60_000 }, async () => {
    await jobs.create(piJob('waited', 'succeed'));
    const phases: string[] = [];
    const { state } = await waitForJob(jobs, client.transport, 'waited', {
      namespace: ns.name,
      timeoutMs: 30_000,
      onChange: (s) => phases.push(s.phase),
    });
    assert.equal(state.phase, 'Succeeded');
    assert.equal(phases.at(-1), 'Succeeded');
  });

  test('a rotated token file is used at once; the old token is revoked', { timeout: 60_000 }, async () => {
    await jobs.list();
    await pod.writeToken(await revocableToken(ns.name, 'job-robot', 'token-b'));
    await testEnv()
      .admin.makeApiClient(CoreV1Api)
      .deleteNamespacedSecret({ name: 'token-a', namespace: ns.name });
    // The old token is unusable once its Secret is gone...
    const old = kubeConfigForToken(tokenA, ns.name).makeApiClient(BatchV1Api);
    await eventually(
      'the old token to be refused',
      async () =>
        await old.listNamespacedJob({ namespace: ns.name }).then(
          () => undefined,
          (e: unknown) => apiStatus(e)?.code === 401 || undefined,
        ),
    );
    // ...and the same KubeClient keeps working, with no restart.
    await jobs.list();
    assert.equal(jobState(await jobs.get('waited')).phase, 'Succeeded');
  });

  test(
    'a revoked token with no replacement is a 401 naming the credential',
    { timeout: 30_000 },
    async () => {
      await testEnv()
        .admin.makeApiClient(CoreV1Api)
        .deleteNamespacedSecret({ name: 'token-b', namespace: ns.name });
      const err = await eventually('the revoked token to be refused', async () => {
        try {
          await jobs.list();
          return undefined;
        } catch (e) {
          return e;
        }
      });
      assert.ok(err instanceof KubeUnauthorizedError, String(err));
      assert.match(err.message, /token file .*\/token/);
    },
  );
});
