// `helm install` on the real control plane, then kjd run exactly as the
// chart's Pod would run it: the chart's ServiceAccount token, CA and
// namespace in an emulated /var/run/secrets/kubernetes.io/serviceaccount, and
// the chart's own rendered ConfigMaps read back from the cluster. Items go
// through Redis and HTTP to completion: the chart's RBAC is sufficient. Then
// each rule of the chart's Role is removed in turn: `kjd check` and /readyz
// name exactly what is missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { controlPlaneBinDir } from '../../harness/cluster/binaries.ts';
import { CHART_DIR } from '../../scripts/manifests.ts';
import { runCli } from '../../src/cli/kjd.ts';
import { capture } from '../support/capture.ts';
import { testEnv } from '../support/env.ts';
import { eventually, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { emulatePod, type EmulatedPod } from '../support/pod-emulation.ts';
import { startServe } from '../support/serve.ts';

const run = promisify(execFile);
const RELEASE = 'kjd';
const FULLNAME = 'kjd-kube-job-dispatcher';

describe("helm install, then kjd as the chart's ServiceAccount", () => {
  const ns = useNamespace('install');
  const p = `i${randomBytes(3).toString('hex')}`;
  let dir: string;
  let helm: string;
  let pod: EmulatedPod;
  let redis: Redis;
  const helmRun = (args: string[]) =>
    run(helm, [...args, '--kubeconfig', testEnv().kubeconfigPath], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
      },
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-install-'));
    helm = join(await controlPlaneBinDir({ build: false, helm: true }), 'helm');
    redis = new Redis(testEnv().redisUrl);
    await helmRun([
      'install', RELEASE, CHART_DIR, '--namespace', ns.name, '--wait', '--timeout', '90s',
      '--set', `redis.url=${testEnv().redisUrl}`,
      '--set-json', `routes=[{"name":"queue","template":"worker-job.yaml","source":{"type":"redis-list","key":"${p}:queue"}},{"name":"api","template":"worker-job.yaml","source":{"type":"http"}}]`,
    ]); // prettier-ignore
    // The chart's own files, as the Pod would mount them.
    const core = testEnv().admin.makeApiClient(CoreV1Api);
    const config = await core.readNamespacedConfigMap({ name: `${FULLNAME}-config`, namespace: ns.name });
    const jobs = await core.readNamespacedConfigMap({ name: `${FULLNAME}-jobs`, namespace: ns.name });
    await mkdir(join(dir, 'etc', 'jobs'), { recursive: true });
    await writeFile(join(dir, 'etc', 'kjd.yaml'), config.data?.['kjd.yaml'] ?? '');
    for (const [file, text] of Object.entries(jobs.data ?? {}))
      await writeFile(join(dir, 'etc', 'jobs', file), text);
    pod = await emulatePod(ns.name, await serviceAccountToken(ns.name, FULLNAME));
  });
  after(async () => {
    await helmRun(['uninstall', RELEASE, '--namespace', ns.name]).catch(() => undefined);
    redis.disconnect();
    await pod.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const podEnv = () => ({ ...pod.env, KJD_SERVICE_ACCOUNT_DIR: pod.serviceAccountDir });
  const kjdCheck = () => capture((io) => runCli(['check'], { ...io, env: podEnv() }));

  test('helm install --wait: the Deployment becomes available', async () => {
    const d = await testEnv()
      .admin.makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: FULLNAME, namespace: ns.name });
    assert.equal(d.status?.availableReplicas, 1);
    assert.equal(d.spec?.template.spec?.serviceAccountName, FULLNAME);
  });

  test(
    "kjd serve as the chart's ServiceAccount: items through Redis and HTTP to completion",
    { timeout: 120_000 },
    async () => {
      const check = await kjdCheck();
      assert.equal(check.code, 0, check.stdout);
      const kjd = await startServe(join(dir, 'etc', 'kjd.yaml'), dir, `${p}-sa`, { env: podEnv() });
      try {
        await redis.lpush(
          `${p}:queue`,
          ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `${p}-q${i}`, CUSTOM_ID: String(i) })),
        );
        // HTTP callers are checked by TokenReview + SubjectAccessReview: the chart's auth-delegator binding.
        const token = await serviceAccountToken(ns.name, FULLNAME);
        for (let i = 0; i < 5; i++) {
          const r = await fetch(`${kjd.url}/v1/jobs?route=api`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ id: `${p}-h${i}`, CUSTOM_ID: `h${i}` }),
          });
          assert.equal(r.status, 202, await r.text());
        }
        // Result keys: <route name>/<request id>.
        const ids = [
          ...Array.from({ length: 10 }, (_, i) => `queue/${p}-q${i}`),
          ...Array.from({ length: 5 }, (_, i) => `api/${p}-h${i}`),
        ];
        await eventually(
          '15 results',
          async () => {
            const have = await Promise.all(ids.map((id) => redis.hget(`kjd:result:${id}`, 'status')));
            return have.every((s) => s === 'Succeeded') ? true : undefined;
          },
          90_000,
        );
        // rbac.events: kjd reads a Job's Events with the chart's ServiceAccount (the dashboard's Job detail).
        const jobName = (await redis.hget(`kjd:result:api/${p}-h0`, 'jobName')) ?? '';
        const events = await fetch(`${kjd.url}/v1/jobs/${jobName}/events?namespace=${ns.name}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const eventsBody = await events.text();
        assert.equal(events.status, 200, eventsBody);
        const rows = (JSON.parse(eventsBody) as { items: { reason?: string }[] }).items;
        assert.ok(
          rows.some((e) => e.reason === 'SuccessfulCreate'),
          `the Job's SuccessfulCreate event: ${eventsBody}`,
        );
      } finally {
        kjd.child.kill('SIGTERM');
        await kjd.exited;
      }
    },
  );

  test(
    'least privilege: without any one rule of the Role, `kjd check` and /readyz name exactly what is missing',
    { timeout: 180_000 },
    async () => {
      const rbac = testEnv().admin.makeApiClient(RbacAuthorizationV1Api);
      const role = await rbac.readNamespacedRole({ name: FULLNAME, namespace: ns.name });
      const rules = role.rules ?? [];
      // A JSON merge patch replaces the whole list: no resourceVersion to go stale.
      const setRules = (r: V1PolicyRule[]) =>
        rbac.patchNamespacedRole(
          { name: FULLNAME, namespace: ns.name, body: { rules: r } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      assert.equal(rules.length, 3);
      const expectMissing = (rule: V1PolicyRule) =>
        rule.verbs
          .map(
            (v) => `${v} ${rule.resources?.[0] ?? ''}${rule.apiGroups?.[0] ? `.${rule.apiGroups[0]}` : ''}`,
          )
          .sort();
      try {
        for (const [i, rule] of rules.entries()) {
          await setRules(rules.filter((_, j) => j !== i));
          const check = await eventually(
            `kjd check to see rule ${i} gone`,
            async () => {
              const r = await kjdCheck();
              return r.code === 3 ? r : undefined;
            },
            30_000,
          );
          const missing = check.stdout
            .split('\n')
            .filter((l) => l.startsWith('✗'))
            .map((l) =>
              l
                .split(/\s{2,}/)
                .slice(1, 3)
                .join(' '),
            )
            .sort();
          assert.deepEqual(missing, expectMissing(rule), `rule ${i}`);
          const kjd = await startServe(join(dir, 'etc', 'kjd.yaml'), dir, `${p}-lp${i}`, {
            env: podEnv(),
            waitFor: 'listening',
          });
          try {
            // /readyz answers as soon as kjd listens; the permission check follows moments later.
            const { readyz, body } = await eventually('the RBAC check to run', async () => {
              const res = await fetch(`${kjd.url}/readyz`);
              const json = (await res.json()) as { checks: { rbac: { ok: boolean; detail: string } } };
              return json.checks.rbac.detail === 'not checked yet' ? undefined : { readyz: res, body: json };
            });
            assert.equal(readyz.status, 503);
            assert.equal(body.checks.rbac.ok, false);
            for (const m of expectMissing(rule))
              assert.ok(body.checks.rbac.detail.includes(m), `${m} in ${body.checks.rbac.detail}`);
          } finally {
            kjd.child.kill('SIGTERM');
            await kjd.exited;
          }
        }
      } finally {
        await setRules(rules);
      }
    },
  );
});
