// `npm run cluster:up | cluster:down | demo`: the local environment for people.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterDir, startLocalCluster, stopRecordedCluster } from './cluster/local-cluster.ts';
import { stateDir } from './paths.ts';
import { isProcessOf, stopPid } from './process.ts';
import { startLocalRedis } from './redis.ts';
import { runDemo } from './demo.ts';

const log = (m: string) => {
  console.error(`[kjd-local] ${m}`);
};
const redisDir = () => join(stateDir(), 'redis');

async function up(nodes: number): Promise<void> {
  const cluster = await startLocalCluster({ name: 'local', detached: true, nodes, log });
  await stopRecordedRedis();
  const redis = await startLocalRedis({ dir: redisDir(), detached: true });
  await writeFile(
    join(redisDir(), 'state.json'),
    JSON.stringify({ pid: redis.process().pid, url: redis.url }),
  );
  console.log(
    [
      `kube-apiserver: ${cluster.server}`,
      `kubeconfig:     ${cluster.kubeconfigPath}`,
      `logs:           ${cluster.logsDir}`,
      `redis:          ${redis.url}`,
      '',
      `export KUBECONFIG=${cluster.kubeconfigPath}`,
      `export KJD_REDIS_URL=${redis.url}`,
      'Stop with: npm run cluster:down',
    ].join('\n'),
  );
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
  const stoppedCluster = await stopRecordedCluster(clusterDir('local'));
  const stoppedRedis = await stopRecordedRedis();
  log(stoppedCluster || stoppedRedis ? 'stopped' : 'nothing was running');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { nodes: { type: 'string', default: '3' } },
  });
  switch (positionals[0]) {
    case 'up':
      await up(Number(values.nodes));
      return 0;
    case 'down':
      await down();
      return 0;
    case 'demo':
      return runDemo(log);
    default:
      console.error('usage: node harness/cli.ts up [--nodes N] | down | demo');
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
