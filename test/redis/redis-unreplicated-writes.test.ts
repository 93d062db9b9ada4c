// What a failover loses when the replica is behind, and what
// redis.waitForReplicas saves. A real Sentinel setup whose replica
// replicates through a relay the test freezes: for 5 s the primary
// acknowledges kjd's writes (takes, results) that no replica has; then the
// primary is killed (-9) and the sentinels promote the stale replica.
// Without waiting, those writes are gone: results lost for good (kjd had
// already deleted the Jobs' in-flight records) and id-less items taken a second
// time under new ids. With waitForReplicas, kjd holds on until a replica
// confirms, and every item still ends in one Job and one result.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { askServer } from '../../harness/faults/redis-server.ts';
import { startRedisSentinel } from '../../harness/faults/redis-sentinel.ts';
import { useNamespace } from '../support/kube.ts';
import {
  addStream, demoTemplate, describeCensus, pushList, serveConfigFor, startCounter, type HaRoutes,
} from '../support/redis-ha.ts'; // prettier-ignore
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

describe('a failover with the replica behind', () => {
  const ns = useNamespace('redis-unreplicated');
  let dir: string;
  let template: string;
  const running: ServeProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-redis-unreplicated-'));
    // Jobs of 2 s: some finish, and have their results written, while replication is frozen.
    template = join(dir, 'job.yaml');
    await writeFile(
      template,
      (await readFile(demoTemplate, 'utf8')).replace('run-duration: 500ms', 'run-duration: 2s'),
    );
  });
  after(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    // KJD_KEEP_TEST_DIR=1 keeps kjd's logs and the servers' data for a look afterwards.
    if (process.env.KJD_KEEP_TEST_DIR === undefined) await rm(dir, { recursive: true, force: true });
  });

  async function run(t: TestContext, waitForReplicas: boolean) {
    const p = `u${randomBytes(3).toString('hex')}`;
    const sentinel = await startRedisSentinel({ dir: join(dir, p), replicateThroughRelay: true });
    const redis = new Redis({
      name: sentinel.name,
      sentinels: sentinel.sentinelNodes.map((s) => ({ ...s })),
    });
    redis.on('error', () => undefined);
    try {
      const routes: HaRoutes = {
        list: { name: 'list', key: `${p}:queue` },
        stream: { name: 'events', stream: `${p}:events` },
        http: { name: 'api' },
      };
      const target = {
        sentinel: { name: sentinel.name, sentinels: sentinel.sentinelNodes },
        ...(waitForReplicas ? { waitForReplicas: { replicas: 1, timeoutMs: 500 } } : {}),
      };
      const config = serveConfigFor(p, ns.name, target, routes, {
        template,
        extra: { limits: { maxActiveJobs: 8 } },
      });
      const counter = startCounter(redis, ns.name, p, 'plain', routes);
      // Taken first (a list is taken oldest first): 8 items with ids, before the freeze (maxActiveJobs 8);
      // then 10 without a producer id, whose request id is given at the take, during it; then the rest.
      const sent = [...(await pushList(redis, routes, p, 0, 8))];
      const idless = 10;
      for (let i = 0; i < idless; i++)
        await redis.lpush(routes.list.key, JSON.stringify({ CUSTOM_ID: `n${i}` }));
      sent.push(...(await pushList(redis, routes, p, 8, 22)), ...(await addStream(redis, routes, 0, 20)));
      const old = await sentinel.primaryPort();
      await askServer(`redis://127.0.0.1:${old}`, (r) => r.call('WAIT', 1, 2000));
      const kjd = await startServe(await writeServeConfig(dir, p, config), dir, `${p}-a`);
      running.push(kjd);
      await counter.underWay(8);

      sentinel.relay?.freeze();
      // Until the primary holds results its replica does not: kjd's acknowledged, unreplicated writes.
      const resultsOn = (port: number) =>
        askServer(`redis://127.0.0.1:${port}`, (r) => r.keys(`${p}:result:*`));
      const replicaPort = sentinel.servers.find((s) => s.port !== old)?.port ?? 0;
      let unreplicated = 0;
      for (const deadline = Date.now() + 30_000; unreplicated < 3 && Date.now() < deadline;) {
        await sleep(200);
        unreplicated = (await resultsOn(old)).length - (await resultsOn(replicaPort)).length;
      }
      // A moment for the takes the finished Jobs made room for.
      await sleep(1500);
      unreplicated = (await resultsOn(old)).length - (await resultsOn(replicaPort)).length;
      const killedAt = Date.now();
      await sentinel.server(old).kill9();
      await sentinel.relay?.close();
      await sentinel.waitForFailover(old);
      const failoverSeconds = (Date.now() - killedAt) / 1000;
      await sentinel.server(old).start();
      const { census } = await counter.settle(sent, waitForReplicas ? 150_000 : 25_000);
      const idlessJobs = counter.ledger
        .jobs()
        .filter((j) => j.requestId.startsWith(`${routes.list.key}/`)).length;
      t.diagnostic(
        `${describeCensus(census)}; id-less items ${idless} -> Jobs ${idlessJobs}; results acknowledged but not replicated at the kill: ${unreplicated}; failover ${failoverSeconds.toFixed(1)} s; settled ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      kjd.child.kill('SIGTERM');
      await kjd.exited;
      await counter.ledger.stop();
      return { census, idless, idlessJobs, unreplicated };
    } finally {
      redis.disconnect();
      await sentinel.stop();
    }
  }

  test('without waitForReplicas: results the old primary acknowledged are lost', async (t) => {
    const r = await run(t, false);
    assert.ok(r.unreplicated > 0, 'the freeze held results back from the replica');
    assert.ok(r.census.unsettled.length > 0, 'items whose results were lost');
  });

  test('with waitForReplicas 1: every item one Job and one result', async (t) => {
    const r = await run(t, true);
    assert.deepEqual(r.census.unsettled, []);
    assert.equal(r.census.duplicateJobs, 0);
    assert.equal(r.census.duplicateResults, 0);
    assert.equal(r.idlessJobs, r.idless, 'each id-less item made one Job');
    assert.equal(r.census.jobs + r.census.deadLettered, r.census.items);
  });
});
