// kjd as a real Pod: the chart installed with kjd's own image on the real
// node, reading its projected ServiceAccount token and KUBERNETES_SERVICE_HOST
// (in-cluster config, nothing emulated), consuming a Redis list and a stream
// on the host, and launching worker Jobs that really run there. Its token
// lives 600 s (the API server's minimum), shorter than the run: the kubelet
// rewrites it, the first token expires, and kjd goes on with no item lost.
//
// The node has no Service proxy, so the Pod uses the host's network and is
// told the API server's loopback address (docs/real-node.md says why).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, AuthenticationV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { controlPlaneBinDir } from '../../harness/cluster/binaries.ts';
import { freePort } from '../../harness/net.ts';
import { CHART_DIR } from '../../scripts/manifests.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  projectedTokenOf,
  realNodeContext,
  requireRealNode,
  REAL_NODE_SCHEDULING,
  WORKER_IMAGE,
} from '../support/real-node.ts';

const run = promisify(execFile);
const RELEASE = 'kjd';
const FULLNAME = 'kjd-kube-job-dispatcher';
const TOKEN_SECONDS = 600;

/** The worker of seed 000, really run: prints its argument, exits with the item's code. */
const WORKER_TEMPLATE = stringify({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name: 'real',
    annotations: {
      'kjd.dev/parameters': 'CUSTOM_ID: { type: string, required: true }\n',
    },
  },
  spec: {
    backoffLimit: 0,
    template: {
      spec: {
        ...REAL_NODE_SCHEDULING,
        restartPolicy: 'Never',
        containers: [
          {
            name: 'worker',
            image: WORKER_IMAGE,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', 'echo custom=${CUSTOM_ID}'],
          },
        ],
      },
    },
  },
});

const rn = await realNodeContext();
const KJD_IMAGE = 'localhost/kjd:local';

// Each test skips (not only the suite), so the run's summary counts them as skipped.
describe('kjd in a real Pod on the real node, with a token that expires during the run', () => {
  const ns = useNamespace('inpod');
  const p = `p${randomBytes(3).toString('hex')}`;
  let dir = '';
  let redis: Redis;
  let podUid = '';
  let firstToken = '';
  const helm = async (args: string[]) => {
    const bin = join(await controlPlaneBinDir({ build: false, helm: true }), 'helm');
    return run(bin, [...args, '--kubeconfig', testEnv().kubeconfigPath], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'c'),
        HELM_CONFIG_HOME: join(dir, 'g'),
        HELM_DATA_HOME: join(dir, 'd'),
      },
    });
  };
  const push = async (tag: string, n: number) => {
    const items = Array.from({ length: n }, (_, i) => ({
      id: `${p}-${tag}${i}`,
      CUSTOM_ID: `${tag}${i}; touch /tmp/pwned`,
    }));
    const half = items.slice(0, n / 2);
    await redis.lpush(`${p}:list`, ...half.map((i) => JSON.stringify(i)));
    // A stream entry's request id is its entry id (src/sources/redis-stream.ts).
    const entries: string[] = [];
    for (const i of items.slice(n / 2))
      entries.push((await redis.xadd(`${p}:stream`, '*', 'payload', JSON.stringify(i))) ?? '');
    const requestIds = [...half.map((i) => i.id), ...entries.map((e) => `${p}:stream/${e}`)];
    // Result keys: <route>/<request id>.
    return requestIds.map((id, k) => `${k < n / 2 ? 'list' : 'stream'}/${id}`);
  };
  const results = (keys: readonly string[]) =>
    eventually(
      `${keys.length} results`,
      async () => {
        const got = await Promise.all(keys.map((k) => redis.hgetall(`kjd:result:${k}`)));
        return got.every((r) => r.status !== undefined) ? got : undefined;
      },
      240_000,
    );

  before(async () => {
    // Without a node each test skips, or fails at once (requireRealNode) when it should be there.
    if (rn.skip !== false || rn.failure !== undefined) return;
    const missing = [KJD_IMAGE, WORKER_IMAGE].filter((i) => !rn.images.includes(i));
    assert.deepEqual(missing, [], `images missing on ${rn.name ?? ''}: images/build.sh builds them`);
    dir = await mkdtemp(join(tmpdir(), 'kjd-inpod-'));
    redis = new Redis(testEnv().redisUrl);
    const api = new URL(testEnv().server);
    const values = {
      image: { repository: 'localhost/kjd', tag: 'local', pullPolicy: 'Never' },
      redis: { url: testEnv().redisUrl },
      hostNetwork: true,
      http: { port: await freePort() },
      extraEnv: [
        { name: 'KUBERNETES_SERVICE_HOST', value: api.hostname },
        { name: 'KUBERNETES_SERVICE_PORT', value: api.port },
      ],
      serviceAccountToken: { expirationSeconds: TOKEN_SECONDS },
      ...REAL_NODE_SCHEDULING,
      jobTemplates: { 'real.yaml': WORKER_TEMPLATE },
      routes: [
        { name: 'list', template: 'real.yaml', source: { type: 'redis-list', key: `${p}:list` } },
        {
          name: 'stream',
          template: 'real.yaml',
          source: { type: 'redis-stream', stream: `${p}:stream`, group: 'kjd' },
        },
      ],
    };
    await writeFile(join(dir, 'values.yaml'), stringify(values));
    await helm([
      'install',
      RELEASE,
      CHART_DIR,
      '-n',
      ns.name,
      '-f',
      join(dir, 'values.yaml'),
      '--wait',
      '--timeout',
      '180s',
    ]);
    const pods = await testEnv().admin.makeApiClient(CoreV1Api).listNamespacedPod({
      namespace: ns.name,
      labelSelector: 'app.kubernetes.io/name=kube-job-dispatcher',
    });
    const pod = pods.items[0];
    assert.equal(pod?.spec?.nodeName, rn.name, 'kjd runs on the real node');
    podUid = pod?.metadata?.uid ?? '';
    firstToken = await projectedTokenOf(podUid, 'kube-api-access');
  });
  after(async () => {
    if (dir === '') return; // before found no node: nothing was installed
    await helm(['uninstall', RELEASE, '-n', ns.name, '--wait']).catch(() => undefined);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    'its image runs as non-root with a read-only root, in-cluster config from the projected token',
    { skip: rn.skip },
    async () => {
      requireRealNode(rn);
      const d = await testEnv()
        .admin.makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: FULLNAME, namespace: ns.name });
      assert.equal(d.status?.availableReplicas, 1);
      const c = d.spec?.template.spec?.containers[0];
      assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(d.spec?.template.spec?.securityContext?.runAsNonRoot, true);
      // The token the kubelet mounted is a bound ServiceAccount token of the chart's account.
      const review = await testEnv()
        .admin.makeApiClient(AuthenticationV1Api)
        .createTokenReview({ body: { spec: { token: firstToken } } });
      assert.equal(review.status?.user?.username, `system:serviceaccount:${ns.name}:${FULLNAME}`);
    },
  );

  test(
    'items from a list and a stream become real Jobs; the hostile part of a value stays inert',
    { skip: rn.skip, timeout: 300_000 },
    async () => {
      requireRealNode(rn);
      const keys = await push('a', 6);
      const got = await results(keys);
      assert.deepEqual(
        got.map((r) => r.status),
        keys.map(() => 'Succeeded'),
      );
      const batch = testEnv().admin.makeApiClient(BatchV1Api);
      const jobs = (await batch.listNamespacedJob({ namespace: ns.name })).items;
      const wanted = new Set(keys.map((k) => k.slice(k.indexOf('/') + 1)));
      const made = jobs.filter((j) => wanted.has(j.metadata?.annotations?.['kjd.dev/request-id'] ?? ''));
      assert.equal(made.length, 6, 'one Job per item');
      const core = testEnv().admin.makeApiClient(CoreV1Api);
      const pod = (
        await core.listNamespacedPod({
          namespace: ns.name,
          labelSelector: `job-name=${made[0]?.metadata?.name ?? ''}`,
        })
      ).items[0];
      assert.equal(pod?.spec?.nodeName, rn.name);
      const log = await core.readNamespacedPodLog({ name: pod?.metadata?.name ?? '', namespace: ns.name });
      assert.match(log, /^custom=a\d; touch \/tmp\/pwned\n$/);
    },
  );

  test(
    `the token rotates and the first one expires (${TOKEN_SECONDS} s): kjd goes on, nothing lost`,
    { skip: rn.skip, timeout: (TOKEN_SECONDS + 300) * 1000 },
    async () => {
      requireRealNode(rn);
      const before = await push('b', 4);
      // The kubelet rewrites the token at 80 % of its life; the old one is refused after exp + 60 s leeway.
      const exp = (
        JSON.parse(Buffer.from(firstToken.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }
      ).exp;
      const rotated = await eventually(
        'the kubelet to rotate the token',
        async () => {
          const t = await projectedTokenOf(podUid, 'kube-api-access');
          return t !== firstToken ? t : undefined;
        },
        TOKEN_SECONDS * 1000,
      );
      assert.notEqual(rotated, firstToken);
      const wait = exp * 1000 + 65_000 - Date.now();
      if (wait > 0) await sleep(wait);
      const refused = await testEnv()
        .admin.makeApiClient(AuthenticationV1Api)
        .createTokenReview({ body: { spec: { token: firstToken } } });
      assert.notEqual(refused.status?.authenticated, true, 'the first token has expired');
      const afterKeys = await push('c', 6);
      const got = await results([...before, ...afterKeys]);
      assert.ok(
        got.every((r) => r.status === 'Succeeded'),
        JSON.stringify(got),
      );
      const pod = (
        await testEnv().admin.makeApiClient(CoreV1Api).listNamespacedPod({
          namespace: ns.name,
          labelSelector: 'app.kubernetes.io/name=kube-job-dispatcher',
        })
      ).items[0];
      assert.equal(pod?.status?.containerStatuses?.[0]?.restartCount, 0, 'kjd was not restarted');
    },
  );
});
