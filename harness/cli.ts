// `npm run cluster:up | cluster:down | demo`: the local environment for people.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { controlPlaneBinDir } from './cluster/binaries.ts';
import {
  clusterDir,
  recordedCluster,
  startLocalCluster,
  stopRecordedCluster,
  type RunningCluster,
} from './cluster/local-cluster.ts';
import { cachedImageTars, importNewImages } from './node/images.ts';
import { runningRealNode, stopRecordedRealNode } from './node/real-node.ts';
import { startRealNodeIfSupported, type RealNodeStatus } from './node/start.ts';
import { stateDir } from './paths.ts';
import { isProcessOf, stopPid } from './process.ts';
import { startLocalRedis } from './redis.ts';
import { runDemo } from './demo.ts';

const log = (m: string) => {
  console.error(`[kjd-local] ${m}`);
};
const redisDir = () => join(stateDir(), 'redis');

interface UpOptions {
  readonly nodes: number;
  /** Wipe and recreate even a healthy running cluster (new PKI, empty etcd). */
  readonly recreate: boolean;
  /** Bring the real node up when the host can run it. */
  readonly realNode: boolean;
}

async function up(o: UpOptions): Promise<void> {
  const dir = clusterDir('local');
  const recorded = o.recreate ? undefined : await recordedCluster(dir);
  let cluster: RunningCluster;
  let realNode: RealNodeStatus;
  if (recorded?.healthy !== true) {
    log(
      recorded === undefined ? '--recreate: starting afresh' : `${recorded.reason}: starting a new cluster`,
    );
    const started = await startLocalCluster({
      name: 'local',
      detached: true,
      nodes: o.nodes,
      realNode: o.realNode,
      log,
    });
    cluster = { ...started, pki: { caCert: started.caFile, caKey: join(started.dir, 'pki', 'ca.key') } };
    realNode = o.realNode ? started.realNode : { state: 'off', reason: '--no-real-node' };
  } else {
    log(`reusing the running cluster in ${dir} (--recreate to start afresh)`);
    cluster = recorded.cluster;
    realNode = await realNodeOn(cluster, o.realNode);
  }
  const redisUrl = await ensureRedis();
  console.log(
    [
      `kube-apiserver: ${cluster.server}`,
      `kubeconfig:     ${cluster.kubeconfigPath}`,
      `logs:           ${cluster.logsDir}`,
      `redis:          ${redisUrl}`,
      `real node:      ${describeRealNode(realNode)}`,
      '',
      `export KUBECONFIG=${cluster.kubeconfigPath}`,
      `export KJD_REDIS_URL=${redisUrl}`,
      'Stop with: npm run cluster:down',
    ].join('\n'),
  );
}

/** On a reused cluster: keep its real node, start one, or (with --no-real-node) stop it. */
async function realNodeOn(cluster: RunningCluster, wanted: boolean): Promise<RealNodeStatus> {
  const existing = await runningRealNode(cluster.dir);
  if (!wanted) {
    if (existing !== undefined) {
      log('--no-real-node: stopping the real node');
      await stopRecordedRealNode(cluster.dir, log);
    }
    return { state: 'off', reason: '--no-real-node' };
  }
  if (existing !== undefined) {
    // Images (re)built since the node started (images/build.sh) become usable without a restart.
    const imported = await importNewImages(existing.socket, existing.nodeDir, await cachedImageTars());
    if (imported.length > 0) log(`real node: imported ${imported.map((t) => basename(t)).join(', ')}`);
    return { state: 'reused', name: existing.nodeName };
  }
  return startRealNodeIfSupported({
    clusterDir: cluster.dir,
    bin: await controlPlaneBinDir({ build: true }),
    server: cluster.server,
    ca: { cert: cluster.pki.caCert, key: cluster.pki.caKey },
    adminKubeconfig: cluster.kubeconfigPath,
    detached: true,
    log,
  });
}

function describeRealNode(s: RealNodeStatus): string {
  switch (s.state) {
    case 'running':
      return `${s.node.name} (${s.node.ip}), Ready ${s.node.readyAfterMs} ms after its kubelet started`;
    case 'reused':
      return `${s.name} (already running)`;
    case 'off':
      return `off (${s.reason})`;
    case 'unsupported':
      return `none: ${s.reason}`;
    case 'failed':
      return `FAILED to start: ${s.reason}`;
  }
}

/** The Redis a previous `cluster:up` started, when it still runs; else a new one. */
async function ensureRedis(): Promise<string> {
  try {
    const { pid, url } = JSON.parse(await readFile(join(redisDir(), 'state.json'), 'utf8')) as {
      pid: number;
      url: string;
    };
    if (isProcessOf(pid, 'redis-server')) return url;
  } catch {
    // none recorded
  }
  await stopRecordedRedis();
  const redis = await startLocalRedis({ dir: redisDir(), detached: true });
  await writeFile(
    join(redisDir(), 'state.json'),
    JSON.stringify({ pid: redis.process().pid, url: redis.url }),
  );
  return redis.url;
}

async function stopRecordedRedis(): Promise<boolean> {
  try {
    const { pid } = JSON.parse(await readFile(join(redisDir(), 'state.json'), 'utf8')) as { pid: number };
    if (isProcessOf(pid, 'redis-server')) await stopPid(pid, 10_000);
    await rm(join(redisDir(), 'state.json'), { force: true });
    return true;
  } catch {
    return false;
  }
}

async function down(): Promise<void> {
  const stoppedCluster = await stopRecordedCluster(clusterDir('local'), log);
  const stoppedRedis = await stopRecordedRedis();
  log(stoppedCluster || stoppedRedis ? 'stopped' : 'nothing was running');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '3' },
      recreate: { type: 'boolean', default: false },
      'no-real-node': { type: 'boolean', default: false },
      real: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  switch (positionals[0]) {
    case 'up':
      await up({ nodes: Number(values.nodes), recreate: values.recreate, realNode: !values['no-real-node'] });
      return 0;
    case 'down':
      await down();
      return 0;
    case 'demo':
      return runDemo(log, { real: values.real, keep: values.keep });
    default:
      console.error(
        'usage: node harness/cli.ts up [--nodes N] [--recreate] [--no-real-node] | down | demo [--real] [--keep]',
      );
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`[kjd-local] ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
