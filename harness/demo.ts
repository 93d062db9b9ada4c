// `npm run demo`: kjd's main job on a machine of its own. The local control
// plane and Redis start; `kjd serve` runs with a Redis-list route and an HTTP
// route; items arrive the way seed 001's producer (LPUSH) and seed 000's
// caller (an HTTP request) send them; each becomes one Job, followed to the
// end; results come back in Redis; bad items land in the dead-letter list
// with their reason. One summary line, then everything stops.
//
// `npm run demo -- --real` runs the Jobs on the local cluster's real node
// (containerd + runc + a kubelet; root needed): real containers of the worker
// image, whose own output, exit code and termination message are shown.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { startLocalCluster } from './cluster/local-cluster.ts';
import { freePorts } from './net.ts';
import { repoRoot } from './paths.ts';
import { startLocalRedis } from './redis.ts';

const QUEUE = 'kjd:demo:queue';
const LIST_ITEMS = [
  '{"id":"order-1","CUSTOM_ID":"1"}',
  '{"id":"order-2","CUSTOM_ID":"2"}',
  '{"id":"order-3","CUSTOM_ID":"3; rm -rf /","OUTCOME":"fail"}', // fails on purpose; the id stays one harmless argument
  '{"id":"order-4","CUSTOM_ID":', // malformed JSON -> dead letter
  '{"id":"order-5","OUTCOME":"sideways"}', // missing and invalid parameters -> dead letter
];
/** The same items for the real worker: it exits with EXIT_CODE and has no OUTCOME. */
const REAL_LIST_ITEMS = [
  '{"id":"order-1","CUSTOM_ID":"1"}',
  '{"id":"order-2","CUSTOM_ID":"2"}',
  '{"id":"order-3","CUSTOM_ID":"3; rm -rf /","EXIT_CODE":3}', // the worker exits 3; the id reaches it as one argument
  '{"id":"order-4","CUSTOM_ID":',
  '{"id":"order-5","EXIT_CODE":"sideways"}',
];
const HTTP_ITEM = { id: 'order-6', CUSTOM_ID: '6' };
const GOOD = ['order-1', 'order-2', 'order-3', 'order-6'];

export async function runDemo(
  log: (m: string) => void,
  options: { real?: boolean; keep?: boolean } = {},
): Promise<number> {
  const started = Date.now();
  const real = options.real === true;
  const dir = await mkdtemp(join(tmpdir(), 'kjd-demo-'));
  const cluster = await demoCluster(real, log);
  const items = real ? REAL_LIST_ITEMS : LIST_ITEMS;
  const template = join(repoRoot, 'examples', real ? 'real-demo-job.yaml' : 'demo-job.yaml');
  const redis = await startLocalRedis({ dir: join(dir, 'redis') });
  const client = new Redis(redis.url);
  const [port = 0] = await freePorts(1);
  // A static token for the API and the dashboard: the demo's cluster is its own, so every right is fine here.
  const token = randomBytes(18).toString('base64url');
  const config = await writeDemoConfig(dir, {
    kubeconfig: cluster.kubeconfigPath,
    redisUrl: redis.url,
    port,
    template,
    token,
  });
  const serve = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'kjd.mjs'), 'serve', '--config', config, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, 30_000);
    log(`kjd serve ready at ${url}`);
    await client.lpush(QUEUE, ...items);
    log(`LPUSH ${QUEUE}: ${items.length} items`);
    const res = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      body: JSON.stringify(HTTP_ITEM),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    log(`POST /v1/jobs -> ${res.status} ${await res.text()}`);
    const results = await waitResults(client, 60_000);
    for (const [id, r] of results) {
      log(describeResult(id, r));
      if (real)
        log(`  its container printed: ${(await podLog(cluster.kubeconfigPath, r.jobName ?? '')).trim()}`);
    }
    const dead = (await client.lrange(`${QUEUE}:dead`, 0, -1)).map(
      (d) => JSON.parse(d) as { reason: string },
    );
    for (const d of dead) log(`dead letter: ${d.reason}`);
    const count = (s: string) => [...results.values()].filter((r) => r.status === s).length;
    console.log(
      `demo${real ? ' (real node)' : ''}: items sent ${items.length + 1}, Jobs Complete ${count('Succeeded')}, Failed ${count('Failed')}, ` +
        `dead-lettered ${dead.length} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    console.log(`dashboard: ${url}/ui/  token: ${token}`);
    if (options.keep === true) await untilInterrupted();
    return count('Succeeded') + count('Failed') + dead.length === items.length + 1 ? 0 : 1;
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
    client.disconnect();
    await redis.stop();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** --keep: kjd serve, the cluster and Redis stay up for the dashboard until Ctrl-C. */
async function untilInterrupted(): Promise<void> {
  console.log('kjd serve keeps running (--keep); Ctrl-C stops everything');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => {
      resolve();
    });
  });
}

/** kjd serve's config for the demo: the list route and the HTTP route share one id space. */
async function writeDemoConfig(
  dir: string,
  o: { kubeconfig: string; redisUrl: string; port: number; template: string; token: string },
): Promise<string> {
  const config = join(dir, 'kjd.yaml');
  await writeFile(
    config,
    stringify({
      kubernetes: { kubeconfig: o.kubeconfig, namespace: 'default' },
      redis: { url: o.redisUrl },
      http: { listen: `127.0.0.1:${o.port}`, auth: { mode: 'static', tokens: [o.token] } },
      routes: [
        {
          name: 'orders',
          template: o.template,
          source: { type: 'redis-list', key: QUEUE },
          idScope: 'orders',
        },
        {
          name: 'api',
          template: o.template,
          source: { type: 'http' },
          // One id space with the list: order-6 sent either way makes one Job.
          idScope: 'orders',
        },
      ],
    }),
  );
  return config;
}

async function demoCluster(real: boolean, log: (m: string) => void) {
  const cluster = await startLocalCluster({ name: 'demo', log, realNode: real });
  if (real && cluster.realNode.state !== 'running') {
    await cluster.stop();
    const why = 'reason' in cluster.realNode ? cluster.realNode.reason : cluster.realNode.state;
    throw new Error(`--real needs the real node, and it did not start: ${why}`);
  }
  return cluster;
}

function describeResult(id: string, r: Record<string, string>): string {
  const reason = r.reason ? ` (${r.reason})` : '';
  const exit = r.exitCode === undefined ? '' : `, exit ${r.exitCode}`;
  const message = r.terminationMessage ? `, message "${r.terminationMessage}"` : '';
  return `${id}: Job ${r.jobName ?? ''} ${r.status ?? ''}${reason}${exit}${message}`;
}

/** What the Job's container printed, through the API server and the real kubelet. */
async function podLog(kubeconfigPath: string, jobName: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: `job-name=${jobName}` });
  const name = pods.items[0]?.metadata?.name;
  return name === undefined ? '(no Pod)' : core.readNamespacedPodLog({ name, namespace: 'default' });
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error(`kjd serve not ready after ${timeoutMs} ms`);
}

async function waitResults(redis: Redis, timeoutMs: number): Promise<Map<string, Record<string, string>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = new Map<string, Record<string, string>>();
    for (const id of GOOD) {
      const r = await redis.hgetall(`kjd:result:orders/${id}`);
      if (Object.keys(r).length > 0) results.set(id, r);
    }
    if (results.size === GOOD.length) return results;
    if (Date.now() > deadline)
      throw new Error(`only ${results.size}/${GOOD.length} results after ${timeoutMs} ms`);
    await sleep(200);
  }
}
