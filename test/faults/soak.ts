// The soak (`npm run faults -- --soak`): items through a list, a stream and
// an HTTP route at once, 2-3 kjd replicas, and a random fault every few
// seconds, on a private cluster and a Redis of its own (AOF always), both
// reached through toxiproxy. At the end every fault is lifted and the same
// invariant as the scenarios is checked: lost = 0, duplicates = 0,
// resultsMissing = 0, and no dead letters (every soak item is valid).
// Writes results/runs/soak.json.
//   --minutes 15  --items 20000  --replicas 3  --fault-every 5 (seconds)
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { controlApiserver } from '../../harness/faults/apiserver.ts';
import { etcdClient } from '../../harness/faults/etcd.ts';
import { freeze, killHard } from '../../harness/faults/kjd-process.ts';
import type { FaultProxy, Toxic } from '../../harness/faults/toxiproxy.ts';
import { startLocalRedis } from '../../harness/redis.ts';
import type { ServeProcess } from '../support/serve.ts';
import { privateCluster } from './lib/env.ts';
import { hostPort, proxyFor } from './lib/proxy.ts';
import { resultsDir } from './lib/record.ts';
import { Scenario } from './lib/scenario.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' },
    items: { type: 'string', default: '20000' },
    replicas: { type: 'string', default: '3' },
    'fault-every': { type: 'string', default: '5' },
  },
});
const minutes = Number(values.minutes);
const items = Number(values.items);
const replicas = Number(values.replicas);
const faultEveryMs = Number(values['fault-every']) * 1000;
if (![minutes, items, replicas, faultEveryMs].every((v) => Number.isFinite(v) && v > 0)) {
  throw new TypeError('--minutes, --items, --replicas and --fault-every must be positive numbers');
}
const log = (m: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const cluster = await privateCluster('soak');
const redisDir = await mkdtemp(join(tmpdir(), 'kjd-soak-redis-'));
// appendfsync always: a kill -9 must not take back the producers' own pushes (a loss that is not kjd's);
// the everysec roll-back is the redis-kill9-aof scenario's subject.
const redis = await startLocalRedis({ dir: redisDir, appendfsync: 'always' });
const api = await controlApiserver(cluster.local ?? fail('no private cluster'));
const etcd = await etcdClient(cluster.local ?? fail('no private cluster'));
const s = new Scenario({
  name: 'soak',
  cluster,
  routes: ['list', 'stream', 'http'],
  redisUrl: redis.url,
  limits: { maxInFlightCreates: 16, maxActiveJobs: 2000 },
  // Often enough to see every Job before its TTL (300 s in the demo template)
  // deletes it: a ledger that lists only at the end counted 12,824 items whose
  // Jobs had run and been deleted as "lost" (soak of 2026-12-02).
  ledgerEveryMs: 10_000,
});
await s.setUp();
const faultsSeen: Record<string, number> = {};
let exitCode: number | undefined;
try {
  const apiProxy = await proxyFor(s, 'api', hostPort(cluster.server));
  const redisProxy = await proxyFor(s, 'redis', `127.0.0.1:${redis.port}`);
  const via = { apiVia: apiProxy.listen, redisUrl: `redis://${redisProxy.listen}` };
  const file = await s.config(via);
  const live: (ServeProcess | undefined)[] = [];
  for (let i = 0; i < replicas; i++) live[i] = await s.startKjd(file, `r${i}-0`, via);
  const restart = async (i: number) => {
    live[i] = await s.startKjd(file, `r${i}-${Date.now()}`, via);
  };

  const startedAt = Date.now();
  const endAt = startedAt + minutes * 60_000;
  let produced = false;
  const produce = produceAll(endAt - minutes * 60_000 * 0.1).finally(() => (produced = true));
  // Faults go on until every item is sent, however long the cluster takes to
  // absorb them: no item is produced into a quiet system (the soak of
  // 2026-12-03 06:09 stopped its faults at minute 15 while producers, held
  // back by a cluster finishing ~6 items/s, went on for 28 more minutes).
  const faults = faultLoop(() => Date.now() >= endAt && produced, apiProxy, redisProxy, live, restart);
  await Promise.all([produce, faults]);
  const faultMinutes = Math.round((Date.now() - startedAt) / 6000) / 10;
  log('faults lifted; waiting for every item to settle');
  for (let i = 0; i < replicas; i++) {
    const c = live[i]?.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) await restart(i);
  }
  const ended = Date.now();
  const { census, recoverySeconds } = await s.settle(ended, 300_000, false, 15_000);
  const ok =
    recoverySeconds !== null &&
    census.lost === 0 &&
    census.duplicates === 0 &&
    census.resultsMissing === 0 &&
    census.deadLettered === 0;
  exitCode = ok ? 0 : 1;
  const record = {
    name: 'soak',
    items: census.items,
    jobs: census.jobs,
    duplicates: census.duplicates,
    lost: census.lost,
    resultsMissing: census.resultsMissing,
    deadLettered: census.deadLettered,
    recoverySeconds: recoverySeconds === null ? null : Math.round(recoverySeconds * 10) / 10,
    queued: census.queued,
    passed: ok,
    minutes: faultMinutes,
    replicas,
    faults: faultsSeen,
    examples: census.examples,
  };
  log(JSON.stringify(record));
  await mkdir(join(resultsDir, 'runs'), { recursive: true });
  await writeFile(join(resultsDir, 'runs', 'soak.json'), `${JSON.stringify(record, null, 2)}\n`);
} finally {
  await s.tearDown();
  await api.stop();
  await redis.stop();
  await cluster.stop();
}
process.exitCode = exitCode;

/** Spreads the items over the three routes and over the time until `until`. */
async function produceAll(until: number): Promise<void> {
  const perRoute = Math.ceil(items / 3);
  const rounds = Math.max(1, Math.floor((until - Date.now()) / 1000));
  const batch = Math.max(1, Math.ceil(perRoute / rounds));
  for (let from = 0; from < perRoute; from += batch) {
    const n = Math.min(batch, perRoute - from);
    const started = Date.now();
    // Producers write to Redis directly (not through the proxy): the faults are kjd's, not theirs.
    await retry(() => s.pushList(n, from));
    await retry(() => s.addStream(n, from));
    await s.postHttp(n, from, 300_000);
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
  log(`produced ${s.sent.length} items`);
}

async function retry(fn: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await fn();
      return;
    } catch {
      await sleep(500);
    }
  }
}

type Fault = (signal: AbortSignal) => Promise<void>;

async function faultLoop(
  done: () => boolean,
  apiProxy: FaultProxy,
  redisProxy: FaultProxy,
  live: (ServeProcess | undefined)[],
  restart: (i: number) => Promise<void>,
): Promise<void> {
  const pick = () => Math.floor(Math.random() * live.length);
  const toxic =
    (proxy: FaultProxy, t: Toxic, ms: number): Fault =>
    async () => {
      await proxy.add('soak', t);
      await sleep(ms);
      await proxy.remove('soak');
    };
  const faults: Record<string, Fault> = {
    'kjd-sigkill': async () => {
      const i = pick();
      const p = live[i];
      if (p !== undefined) await killHard(p);
      await sleep(1000 + Math.random() * 2000);
      await restart(i);
    },
    'kjd-sigstop': async () => {
      const p = live[pick()];
      if (p !== undefined) await freeze(p, 3000 + Math.random() * 5000);
    },
    'api-latency': toxic(apiProxy, { type: 'latency', latencyMs: 300, jitterMs: 200 }, 5000),
    'api-reset': toxic(apiProxy, { type: 'reset_peer', timeoutMs: 0 }, 2000),
    'api-half-open': toxic(apiProxy, { type: 'half_open' }, 5000),
    'redis-latency': toxic(redisProxy, { type: 'latency', latencyMs: 200, jitterMs: 100 }, 5000),
    'redis-reset': toxic(redisProxy, { type: 'reset_peer', timeoutMs: 0 }, 2000),
    'redis-half-open': toxic(redisProxy, { type: 'half_open' }, 5000),
    'redis-kill9-aof': () => redis.crashAndRestart(),
    'apiserver-restart': () => api.restart({ downMs: 2000 }),
    'etcd-compaction': async () => {
      await etcd.compactNow();
    },
  };
  const names = Object.keys(faults);
  while (!done()) {
    await sleep(faultEveryMs * (0.5 + Math.random()));
    const name = names[Math.floor(Math.random() * names.length)] ?? 'kjd-sigkill';
    log(`fault: ${name}`);
    faultsSeen[name] = (faultsSeen[name] ?? 0) + 1;
    await faults[name]?.(AbortSignal.timeout(60_000)).catch((err: unknown) =>
      log(`fault ${name} failed: ${String(err)}`),
    );
  }
}

function fail(message: string): never {
  throw new Error(message);
}
