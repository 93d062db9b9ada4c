// Seed 001's whole flow run by `kjd` itself inside an (emulated) Pod: no
// kubeconfig, only the mounted ServiceAccount token, CA and namespace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { runCli } from '../../src/cli/kjd.ts';
import { jobNameFor } from '../../src/template/index.ts';
import { testEnv } from '../support/env.ts';
import { eventually, grantRole, SEED_001_RULES, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { emulatePod, type EmulatedPod } from '../support/pod-emulation.ts';
import { capture } from '../support/capture.ts';

const example = new URL('../../examples/worker-job.yaml', import.meta.url).pathname;

describe('kjd in a Pod under the seed-001 ServiceAccount', () => {
  const ns = useNamespace('cli-pod');
  let pod: EmulatedPod;
  before(async () => {
    await testEnv()
      .admin.makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'job-robot' } } });
    pod = await emulatePod(ns.name, await serviceAccountToken(ns.name, 'job-robot'));
  });
  after(() => pod.remove());

  const kjd = (...args: string[]) =>
    capture((io) =>
      runCli(args, { ...io, env: { ...pod.env, KJD_SERVICE_ACCOUNT_DIR: pod.serviceAccountDir } }),
    );

  test('without a RoleBinding: exit 1, the missing permission and the fix on stderr', async () => {
    const r = await kjd('launch', '-f', example, '--set', 'CUSTOM_ID=42', '--id', 'item-42');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: forbidden: system:serviceaccount:${ns.name}:job-robot may not create jobs.batch in namespace "${ns.name}"$`,
        'm',
      ),
    );
    assert.match(r.stderr, /- apiGroups: \["batch"\]\n {2}resources: \["jobs"\]\n {2}verbs: \["create"\]/);
    const check = await kjd('check');
    assert.equal(check.code, 3);
    assert.match(
      check.stdout,
      new RegExp(`Permissions in namespace ${ns.name} \\(in-cluster ServiceAccount`),
    );
  });

  test(
    "with the seed's Role: launch, list, get, patch, delete --cascade foreground",
    { timeout: 90_000 },
    async () => {
      await grantRole(ns.name, 'job-robot', SEED_001_RULES);
      const name = jobNameFor('worker', 'item-42');
      const launched = await eventually('the RoleBinding to take effect', async () => {
        const r = await kjd('launch', '-f', example, '--set', 'CUSTOM_ID=42', '--id', 'item-42', '--wait');
        return r.code === 1 && r.stderr.includes('forbidden') ? undefined : r;
      });
      assert.equal(launched.code, 0, launched.stderr);
      assert.match(launched.stdout, /Succeeded/);
      assert.match((await kjd('list')).stdout, new RegExp(`${name}\\s+Succeeded`));
      const got = JSON.parse((await kjd('get', name, '-o', 'json')).stdout) as {
        metadata: { namespace: string };
      };
      assert.equal(got.metadata.namespace, ns.name);
      const patch = await kjd('patch', name, '--image', 'perl');
      assert.equal(patch.code, 1);
      assert.match(patch.stderr, /field is immutable/);
      const del = await kjd('delete', name, '--cascade', 'foreground');
      assert.equal(del.code, 0, del.stderr);
      // The seed's Role has no pods/log: `check` names exactly that.
      const check = await kjd('check');
      assert.equal(check.code, 3);
      assert.deepEqual(
        check.stdout
          .split('\n')
          .filter((l) => l.startsWith('✗'))
          .map((l) => l.replace(/\s+/g, ' ').trim()),
        ['✗ get pods/log kjd logs'],
      );
    },
  );
});
