// The seeds' programs are other clients of the same RBAC: seed 001's Python
// `kubernetes` program and seed 000's client-go program (written here in their
// style), each run as a Pod under the chart's ServiceAccount, create and
// delete a Job with the chart's Role.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { controlPlaneBinDir } from '../../harness/cluster/binaries.ts';
import { CHART_DIR } from '../../scripts/manifests.ts';
import { preparePeers } from '../../bench/lib/peers.ts';
import { testEnv } from '../support/env.ts';
import { eventually, isGone, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { emulatePod, type EmulatedPod } from '../support/pod-emulation.ts';

const run = promisify(execFile);
const FULLNAME = 'kjd-kube-job-dispatcher';
const cacheDir = process.env.KJD_CACHE_DIR ?? join(homedir(), '.cache', 'kube-job-dispatcher');
const python = join(cacheDir, 'python-peers', 'bin', 'python');
const clients = new URL('../clients/', import.meta.url).pathname;

describe("the seeds' clients under the chart's ServiceAccount", () => {
  const ns = useNamespace('seeds');
  let pod: EmulatedPod;
  before(async () => {
    // The chart's ServiceAccount, Role and RoleBinding, applied as rendered.
    const helm = join(await controlPlaneBinDir({ build: false, helm: true }), 'helm');
    const { stdout } = await run(helm, [
      'template',
      'kjd',
      CHART_DIR,
      '--namespace',
      ns.name,
      '--set',
      'redis.url=redis://r:6379',
      '--set',
      'http.auth.mode=static',
      '--set',
      'http.auth.tokensSecret=x',
    ]);
    const api = KubernetesObjectApi.makeApiClient(testEnv().admin);
    for (const doc of parseAllDocuments(stdout)) {
      const o = doc.toJS() as KubernetesObject | null;
      if (o === null || !['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind ?? '')) continue;
      o.metadata ??= {};
      o.metadata.namespace = ns.name;
      await api.create(o);
    }
    pod = await emulatePod(ns.name, await serviceAccountToken(ns.name, FULLNAME));
  });
  after(() => pod.remove());

  const env = () => ({ ...process.env, ...pod.env, KJD_SERVICE_ACCOUNT_DIR: pod.serviceAccountDir });
  const jobGone = async (name: string) =>
    (await isGone(() =>
      testEnv().admin.makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace: ns.name }),
    )) || undefined;

  test(
    'seed 001 (Python kubernetes client): create, list, patch, delete Foreground',
    { timeout: 120_000 },
    async () => {
      const { stdout } = await eventually('the RoleBinding to take effect', () =>
        run(python, [join(clients, 'seed001_client.py'), 'pi'], { env: env() }).catch(() => undefined),
      );
      assert.deepEqual(stdout.trim().split('\n'), ['created', 'listed 1', 'patched', 'deleted']);
      await eventually('the Foreground delete to remove the Job', () => jobGone('pi'));
    },
  );

  test(
    'seed 000 (client-go): a Job from the template with ${CUSTOM_ID}, created and deleted',
    { timeout: 300_000 },
    async () => {
      const bin = (await preparePeers(() => undefined)).seed000Once;
      const template = new URL('../../examples/worker-job.yaml', import.meta.url).pathname;
      const { stdout } = await run(
        bin,
        ['-sa-dir', pod.serviceAccountDir, '-worker-job', template, '-name', 'worker-7', '-custom', '7'],
        { env: env() },
      );
      assert.deepEqual(stdout.trim().split('\n'), ['created', 'deleted']);
    },
  );
});
