// The Helm chart, built with helm from its Go module: it lints, bad values
// fail at install time, what it renders is accepted by the real API server
// (server-side dry run, default and non-default values), the rendered kjd
// config passes kjd's own validation, and deploy/manifests matches it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { controlPlaneBinDir } from '../../harness/cluster/binaries.ts';
import { CHART_DIR, MANIFESTS_FILE, renderManifests } from '../../scripts/manifests.ts';
import { loadServeConfig } from '../../src/config/serve-config.ts';
import { testEnv } from '../support/env.ts';
import { useNamespace } from '../support/kube.ts';

const run = promisify(execFile);
const CLUSTER_SCOPED = new Set(['ClusterRoleBinding', 'PriorityLevelConfiguration', 'FlowSchema']);
const chart = CHART_DIR;

describe('the Helm chart', () => {
  const ns = useNamespace('helm');
  let helm: string;
  let dir: string;
  before(async () => {
    helm = join(await controlPlaneBinDir({ build: false, helm: true }), 'helm');
    dir = await mkdtemp(join(tmpdir(), 'kjd-helm-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const helmRun = (args: string[]) =>
    run(helm, args, {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
      },
    });
  const render = async (args: string[]) => {
    const { stdout } = await helmRun(['template', 'kjd', chart, '--namespace', ns.name, ...args]);
    return parseAllDocuments(stdout)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => o !== null);
  };
  const dryRunAll = async (objects: KubernetesObject[]) => {
    const api = KubernetesObjectApi.makeApiClient(testEnv().admin);
    for (const o of objects) {
      if (o.metadata?.namespace === undefined && !CLUSTER_SCOPED.has(o.kind ?? '')) {
        o.metadata ??= {};
        o.metadata.namespace = ns.name;
      }
      await api.create(o, undefined, 'All');
    }
  };

  test('helm lint passes; bad values fail against values.schema.json', async () => {
    await helmRun(['lint', chart, '--set', 'redis.url=redis://r:6379']);
    const noRedis = await helmRun(['lint', chart]).catch((e: unknown) => e as { stdout: string });
    assert.match(noRedis.stdout, /redis.*url|url.*pattern|does not match pattern/i);
    const badRoute = await helmRun([
      'lint',
      chart,
      '--set',
      'redis.url=redis://r:6379',
      '--set',
      'routes[0].name=Not_A_DNS_Label',
    ]).catch((e: unknown) => e as { stdout: string });
    assert.match(badRoute.stdout, /routes.*name|does not match pattern/i);
  });

  test(
    'the default rendering is accepted by the API server (server-side dry run)',
    { timeout: 60_000 },
    async () => {
      const objects = await render(['--set', 'redis.url=redis://redis:6379']);
      assert.deepEqual(objects.map((o) => o.kind).sort(), [
        'ClusterRoleBinding',
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Role',
        'Role', // rbac.events: list events, for the dashboard's Job detail
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ]);
      await dryRunAll(objects);
    },
  );

  test('non-default values render and are accepted too', { timeout: 60_000 }, async () => {
    const objects = await render([
      '--set', 'redis.url=rediss://redis:6380', '--set', 'replicaCount=2', '--set', 'podDisruptionBudget.enabled=true',
      '--set', 'http.auth.mode=static', '--set', 'http.auth.tokensSecret=kjd-tokens', '--set', 'cleanupAfterSeconds=60',
      '--set', 'apf.enabled=true',
      '--set-json', 'routes=[{"name":"events","template":"worker-job.yaml","source":{"type":"redis-stream","stream":"s"}},{"name":"api","template":"worker-job.yaml","source":{"type":"http"}}]',
    ]); // prettier-ignore
    const kinds = objects.map((o) => o.kind);
    assert.ok(kinds.includes('PodDisruptionBudget'));
    assert.ok(kinds.includes('PriorityLevelConfiguration') && kinds.includes('FlowSchema'));
    assert.ok(!kinds.includes('ClusterRoleBinding'), 'no auth-delegator binding in static mode');
    await dryRunAll(objects);
  });

  test("the rendered kjd config and templates pass kjd serve's own validation", async () => {
    const objects = await render(['--set', 'redis.url=redis://redis:6379']);
    const maps = objects.filter((o) => o.kind === 'ConfigMap') as (KubernetesObject & {
      data: Record<string, string>;
    })[];
    const config = maps.find((m) => m.data['kjd.yaml'] !== undefined);
    const jobs = maps.find((m) => m.data['worker-job.yaml'] !== undefined);
    assert.ok(config && jobs);
    await mkdir(join(dir, 'etc', 'jobs'), { recursive: true });
    await writeFile(join(dir, 'etc', 'kjd.yaml'), config.data['kjd.yaml'] ?? '');
    await writeFile(join(dir, 'etc', 'jobs', 'worker-job.yaml'), jobs.data['worker-job.yaml'] ?? '');
    const loaded = await loadServeConfig(join(dir, 'etc', 'kjd.yaml'), {});
    assert.equal(loaded.kubernetes.mode, 'in-cluster');
    assert.equal(loaded.routes[0]?.template, join(dir, 'etc', 'jobs', 'worker-job.yaml'));
    assert.deepEqual(
      parse(jobs.data['worker-job.yaml'] ?? ''),
      parse(await readFile(new URL('../../examples/worker-job.yaml', import.meta.url), 'utf8')),
    );
  });

  test('a route in Kueue mode and batch mode reaches kjd serve with its queue name and batch settings', async () => {
    const objects = await render([
      '--set', 'redis.url=redis://redis:6379',
      '--set-json', 'routes=[{"name":"worker","template":"worker-job.yaml","source":{"type":"redis-list","key":"q"},"kueue":{"queueName":"team-a"},"batch":{"maxItems":20,"windowMs":50}}]',
    ]); // prettier-ignore
    const config = (objects as (KubernetesObject & { data?: Record<string, string> })[]).find(
      (o) => o.kind === 'ConfigMap' && o.data?.['kjd.yaml'] !== undefined,
    );
    const file = join(dir, 'kueue-kjd.yaml');
    await writeFile(
      file,
      (config?.data?.['kjd.yaml'] ?? '').replace(
        'jobs/worker-job.yaml',
        join(dir, 'etc', 'jobs', 'worker-job.yaml'),
      ),
    );
    await mkdir(join(dir, 'etc', 'jobs'), { recursive: true });
    await writeFile(
      join(dir, 'etc', 'jobs', 'worker-job.yaml'),
      await readFile(new URL('../../examples/worker-job.yaml', import.meta.url), 'utf8'),
    );
    const loaded = await loadServeConfig(file, {});
    const [route] = loaded.routes;
    assert.ok(route);
    assert.deepEqual(route.kueue, { queueName: 'team-a' });
    // Batch mode travels too (defaults filled in by kjd's own schema).
    assert.deepEqual(route.batch, { maxItems: 20, windowMs: 50, maxBytes: 256 * 1024, itemsPerPod: 1 });
    await assert.rejects(
      render([
        '--set',
        'redis.url=redis://r:6379',
        '--set-json',
        'routes=[{"name":"w","template":"t","source":{"type":"http"},"kueue":{}}]',
      ]),
      /queueName/,
      'a kueue block without queueName fails the schema',
    );
  });

  test('deploy/manifests is the chart rendered with defaults (run `npm run manifests` after changing the chart)', async () => {
    assert.equal(await readFile(MANIFESTS_FILE, 'utf8'), await renderManifests(helm));
  });
});
