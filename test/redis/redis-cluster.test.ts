// kjd serve against a real six-node Redis Cluster (three primaries, three
// replicas, made by `redis-cli --cluster create`): a list, a stream and an
// HTTP route on slots of different primaries; then kill -9 of a primary in
// the middle of a run, and a `redis-cli --cluster reshard` of the slot a
// route lives on. Judged by the count in test/support/redis-ha.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { startRedisCluster, type LocalRedisCluster } from '../../harness/faults/redis-cluster.ts';
import { askServer } from '../../harness/faults/redis-server.ts';
import { keySlot, tagForSlot, tagInRanges } from '../../harness/faults/redis-slots.ts';
import { useNamespace } from '../support/kube.ts';
import {
  addStream, describeCensus, postHttp, pushList, recordScenario, serveConfigFor, startCounter, type HaRoutes, type Sent,
} from '../support/redis-ha.ts'; // prettier-ignore
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

/** KJD_REDIS_HA_SCALE=10 for the long form (npm run faults runs it so). */
const scale = Number(process.env.KJD_REDIS_HA_SCALE ?? '1');
const n = (count: number) => Math.round(count * scale);

describe('kjd serve on a real Redis Cluster', () => {
  const ns = useNamespace('redis-cluster');
  let dir: string;
  let cluster: LocalRedisCluster;
  let redis: Cluster;
  const running: ServeProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-redis-cluster-'));
    cluster = await startRedisCluster({ dir: join(dir, 'redis') });
    redis = new Cluster([...cluster.nodes], { retryDelayOnFailover: 200, retryDelayOnClusterDown: 300 });
    redis.on('error', () => undefined);
  });
  after(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    redis.disconnect();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** `durable`: results and takes wait for one replica (redis.waitForReplicas), as docs/redis.md recommends. */
  const serve = async (p: string, routes: HaRoutes, durable = false) => {
    const file = await writeServeConfig(
      dir,
      p,
      serveConfigFor(
        p,
        ns.name,
        {
          cluster: { nodes: cluster.nodes },
          ...(durable ? { waitForReplicas: { replicas: 1, timeoutMs: 500 } } : {}),
        },
        routes,
      ),
    );
    const kjd = await startServe(file, dir, `${p}-a`);
    running.push(kjd);
    return kjd;
  };
  const stop = async (kjd: ServeProcess) => {
    kjd.child.kill('SIGTERM');
    assert.equal(await kjd.exited, 0, kjd.logs().slice(-3000));
  };
  /** Every write so far is on the replicas too: a loss seen later is kjd's, not the producer's. */
  const replicated = async () => {
    for (const node of (await cluster.topology()).filter((x) => x.primary && !x.failed))
      await askServer(`redis://127.0.0.1:${node.port}`, (r) => r.call('WAIT', 1, 2000));
  };

  test('a list, a stream and an HTTP route on three primaries: one Job and one result per item', async (t) => {
    const p = `c${randomBytes(3).toString('hex')}`;
    const primaries = (await cluster.topology()).filter((x) => x.primary);
    const [a, b, c] = primaries;
    assert.ok(a && b && c);
    const routes: HaRoutes = {
      // Untagged list key: kjd derives `{key}:…` for its own keys.
      list: { name: tagInRanges(a.slots, `${p}-l`), key: tagInRanges(a.slots, `${p}q`) },
      stream: { name: tagInRanges(b.slots, `${p}-s`), stream: `{${tagInRanges(b.slots, `${p}s`)}}:events` },
      http: { name: tagInRanges(c.slots, `${p}-h`) },
    };
    const owners = new Set(
      await Promise.all(
        [routes.list.key, routes.stream.stream, `{${routes.http.name}}`].map(
          async (k) => (await cluster.primaryOf(keySlot(k))).port,
        ),
      ),
    );
    assert.equal(owners.size, 3, 'the three routes are on three primaries');
    const counter = startCounter(redis, ns.name, p, 'slotted', routes);
    const kjd = await serve(p, routes);
    const sent: Sent[] = [
      ...(await pushList(redis, routes, p, 0, n(40))),
      ...(await addStream(redis, routes, 0, n(40))),
      ...(await postHttp(kjd.url, routes, p, 0, n(20))),
    ];
    const { census, seconds } = await counter.settle(sent, 120_000);
    t.diagnostic(`${describeCensus(census)}; settled in ${seconds.toFixed(1)} s`);
    assert.deepEqual(census.unsettled, []);
    assert.equal(census.jobs, sent.length);
    assert.equal(census.results, sent.length);
    assert.equal(census.duplicateResults, 0);
    assert.equal(await redis.llen(routes.list.key), 0);
    await stop(kjd);
    await counter.ledger.stop();
  });

  test('kill -9 of the primary holding the list queue and its results (waitForReplicas 1): its replica takes over, no item lost or doubled', async (t) => {
    const startedAt = Date.now();
    const p = `k${randomBytes(3).toString('hex')}`;
    const [a, b, c] = (await cluster.topology()).filter((x) => x.primary && !x.failed);
    assert.ok(a && b && c);
    const routes: HaRoutes = {
      list: { name: tagInRanges(a.slots, `${p}-l`), key: tagInRanges(a.slots, `${p}q`) },
      stream: { name: tagInRanges(b.slots, `${p}-s`), stream: `{${tagInRanges(b.slots, `${p}s`)}}:events` },
      http: { name: tagInRanges(c.slots, `${p}-h`) },
    };
    const counter = startCounter(redis, ns.name, p, 'slotted', routes);
    const kjd = await serve(p, routes, true);
    const sent: Sent[] = [
      ...(await pushList(redis, routes, p, 0, n(60))),
      ...(await addStream(redis, routes, 0, n(40))),
      ...(await postHttp(kjd.url, routes, p, 0, n(10))),
    ];
    await replicated();
    await counter.underWay(Math.round(sent.length / 4));
    const slot = keySlot(routes.list.key);
    const killedAt = Date.now();
    await cluster.server(a.port).kill9();
    await cluster.waitForFailover(slot, a.port);
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    // Producers carry on against the new primary; the old one comes back as a replica.
    sent.push(...(await pushList(redis, routes, p, 1000, n(20))));
    await cluster.server(a.port).start();
    const { census, seconds } = await counter.settle(sent, 180_000);
    const notes = `failover ${failoverSeconds.toFixed(1)} s; every item settled ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (${seconds.toFixed(1)} s of settling)`;
    t.diagnostic(`${describeCensus(census)}; ${notes}`);
    await recordScenario('redis-cluster-kill9', census, {
      recoverySeconds: (Date.now() - killedAt) / 1000,
      seconds: (Date.now() - startedAt) / 1000,
      notes,
    });
    assert.deepEqual(census.unsettled, []);
    assert.equal(census.duplicateJobs, 0, 'no item made two Jobs');
    assert.equal(census.duplicateResults, 0, 'no item has two result records');
    assert.equal(census.jobs + census.deadLettered, sent.length);
    await stop(kjd);
    await counter.ledger.stop();
  });

  test('redis-cli --cluster reshard of the slot a list and a stream live on, during a run', async (t) => {
    const startedAt = Date.now();
    const p = `r${randomBytes(3).toString('hex')}`;
    await cluster.waitForOk();
    const [from, to, other] = (await cluster.topology()).filter((x) => x.primary && !x.failed);
    assert.ok(from && to && other);
    // redis-cli moves the source's lowest slot: put both queues there.
    const slot = from.slots[0]?.[0] ?? 0;
    const tag = tagForSlot(slot, `${p}t`);
    const routes: HaRoutes = {
      list: { name: `${p}-l`, key: tag },
      stream: { name: `${p}-s`, stream: `{${tag}}:events` },
      http: { name: `${p}-h` },
    };
    const counter = startCounter(redis, ns.name, p, 'slotted', routes);
    const kjd = await serve(p, routes);
    const sent: Sent[] = [
      ...(await pushList(redis, routes, p, 0, n(40))),
      ...(await addStream(redis, routes, 0, n(40))),
    ];
    await counter.underWay(Math.round(sent.length / 4));
    const reshardAt = Date.now();
    await cluster.reshardOne(from, to);
    const reshardSeconds = (Date.now() - reshardAt) / 1000;
    assert.equal((await cluster.primaryOf(slot)).port, to.port, 'the slot moved');
    sent.push(
      ...(await pushList(redis, routes, p, 1000, n(20))),
      ...(await addStream(redis, routes, 1000, n(20))),
    );
    const { census, seconds } = await counter.settle(sent, 120_000);
    const notes = `reshard took ${reshardSeconds.toFixed(2)} s; settled ${seconds.toFixed(1)} s later`;
    t.diagnostic(`${describeCensus(census)}; ${notes}`);
    await recordScenario('redis-cluster-reshard', census, {
      recoverySeconds: seconds,
      seconds: (Date.now() - startedAt) / 1000,
      notes,
    });
    assert.deepEqual(census.unsettled, []);
    assert.equal(census.duplicateJobs, 0);
    assert.equal(census.duplicateResults, 0);
    assert.equal(census.jobs + census.deadLettered, sent.length);
    await stop(kjd);
    await counter.ledger.stop();
  });
});
