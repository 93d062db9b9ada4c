// Redis kill -9 and restart from its AOF (appendfsync everysec), on a Redis
// of the scenario's own. Items are pushed and given 2 s to reach the AOF
// before kjd starts; the kill lands while Jobs are being created and results
// written. Bound: every item settled 60 s after Redis answers again.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { startLocalRedis } from '../../harness/redis.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('redis-kill9-aof', {}, async (use) => {
  const redis = await startLocalRedis({
    dir: join(await mkdtemp(join(tmpdir(), 'kjd-fault-redis-')), 'r'),
    appendfsync: 'everysec',
  });
  const s = await use({ routes: ['list', 'stream'], redisUrl: redis.url });
  s.onTearDown(() => redis.stop());
  const n = scaled(100);
  await s.pushList(n);
  await s.addStream(n);
  await sleep(2_000);
  await s.startKjd(await s.config(), 'a');
  while ((await s.census()).jobs < 30) await sleep(100);
  await redis.crashAndRestart();
  const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
  await s.verdict(census, recoverySeconds);
});
