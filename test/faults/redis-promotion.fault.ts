// Redis replica promotion with READONLY from the old primary. kjd reaches
// Redis through a TCP proxy (a stand-in for a virtual IP or DNS name). The
// replica is promoted (REPLICAOF NO ONE) and the old primary becomes its
// replica, so kjd's open connections get READONLY on every write for 5 s;
// then the proxy points at the new primary. The replica is in sync before
// the promotion: this scenario is about READONLY, not about writes lost to
// asynchronous replication. Bound: every item settled 60 s after the switch.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startRedisPair, waitForReplicaCatchUp } from '../../harness/faults/redis-pair.ts';
import { defineScenario, scaled } from './lib/define.ts';
import { proxyFor } from './lib/proxy.ts';

defineScenario('redis-promotion', {}, async (use) => {
  const pair = await startRedisPair(await mkdtemp(join(tmpdir(), 'kjd-fault-pair-')));
  const s = await use({ routes: ['list', 'stream'], redisUrl: pair.primary.url });
  s.onTearDown(() => pair.stop());
  const proxy = await proxyFor(s, 'redis', `127.0.0.1:${pair.primary.port}`);
  const via = { redisUrl: `redis://${proxy.listen}` };
  const n = scaled(100);
  await s.pushList(n);
  await s.addStream(n);
  await s.startKjd(await s.config(via), 'a', via);
  while ((await s.census()).jobs < 30) await sleep(100);
  await waitForReplicaCatchUp(pair);
  const promoted = await pair.promote();
  await sleep(5_000);
  await proxy.setUpstream(`127.0.0.1:${promoted.port}`);
  // Count from the new primary from now on.
  s.redis.disconnect();
  s.redis = new Redis(promoted.url, { maxRetriesPerRequest: null });
  const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
  await s.verdict(census, recoverySeconds);
});
