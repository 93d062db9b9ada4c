// kjd serve against a real Sentinel setup (one primary, one replica, three
// sentinels): kill -9 of the primary in the middle of a run; the sentinels
// promote the replica, kjd (ioredis asking the sentinels) follows, and every
// item still ends in exactly one Job and one result. Judged by the count in
// test/support/redis-ha.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { askServer } from '../../harness/faults/redis-server.ts';
import { startRedisSentinel, type LocalRedisSentinel } from '../../harness/faults/redis-sentinel.ts';
import { useNamespace } from '../support/kube.ts';
import {
  addStream, describeCensus, postHttp, pushList, recordScenario, serveConfigFor, startCounter, type HaRoutes, type Sent,
} from '../support/redis-ha.ts'; // prettier-ignore
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

/** KJD_REDIS_HA_SCALE=10 for the long form (npm run faults runs it so). */
const scale = Number(process.env.KJD_REDIS_HA_SCALE ?? '1');
const n = (count: number) => Math.round(count * scale);

describe('kjd serve on a real Sentinel-managed Redis', () => {
  const ns = useNamespace('redis-sentinel');
  let dir: string;
  let sentinel: LocalRedisSentinel;
  let redis: Redis;
  let kjd: ServeProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-redis-sentinel-'));
    sentinel = await startRedisSentinel({ dir: join(dir, 'redis') });
    redis = new Redis({ name: sentinel.name, sentinels: sentinel.sentinelNodes.map((s) => ({ ...s })) });
    redis.on('error', () => undefined);
  });
  after(async () => {
    kjd?.child.kill('SIGKILL');
    redis.disconnect();
    await sentinel.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('kill -9 of the primary during a run: the replica is promoted, no item lost or doubled', async (t) => {
    const startedAt = Date.now();
    const p = `s${randomBytes(3).toString('hex')}`;
    const routes: HaRoutes = {
      list: { name: 'list', key: `${p}:queue` },
      stream: { name: 'events', stream: `${p}:events` },
      http: { name: 'api' },
    };
    const target = { sentinel: { name: sentinel.name, sentinels: sentinel.sentinelNodes } };
    const file = await writeServeConfig(dir, p, serveConfigFor(p, ns.name, target, routes));
    kjd = await startServe(file, dir, `${p}-a`);
    const counter = startCounter(redis, ns.name, p, 'plain', routes);
    const sent: Sent[] = [
      ...(await pushList(redis, routes, p, 0, n(60))),
      ...(await addStream(redis, routes, 0, n(40))),
      ...(await postHttp(kjd.url, routes, p, 0, n(10))),
    ];
    const old = await sentinel.primaryPort();
    // The producer's writes are on the replica too: a loss seen later is kjd's.
    await askServer(`redis://127.0.0.1:${old}`, (r) => r.call('WAIT', 1, 2000));
    await counter.underWay(sent.length / 4);
    const killedAt = Date.now();
    await sentinel.server(old).kill9();
    const promoted = await sentinel.waitForFailover(old);
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    sent.push(...(await pushList(redis, routes, p, 1000, n(20))));
    sent.push(...(await postHttp(kjd.url, routes, p, 1000, n(10))));
    // The old primary comes back; the sentinels make it a replica of the new one.
    await sentinel.server(old).start();
    const { census, seconds } = await counter.settle(sent, 180_000);
    const notes = `failover ${old} -> ${promoted} in ${failoverSeconds.toFixed(1)} s; every item settled ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (${seconds.toFixed(1)} s of settling)`;
    t.diagnostic(`${describeCensus(census)}; ${notes}`);
    await recordScenario('redis-sentinel-kill9', census, {
      recoverySeconds: (Date.now() - killedAt) / 1000,
      seconds: (Date.now() - startedAt) / 1000,
      notes,
    });
    assert.deepEqual(census.unsettled, []);
    assert.equal(census.duplicateJobs, 0, 'no item made two Jobs');
    assert.equal(census.duplicateResults, 0, 'no item has two result records');
    assert.equal(census.jobs + census.deadLettered, sent.length);
    kjd.child.kill('SIGTERM');
    assert.equal(await kjd.exited, 0, kjd.logs().slice(-3000));
    await counter.ledger.stop();
  });
});
