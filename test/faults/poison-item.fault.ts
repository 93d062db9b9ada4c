// A poison item (a JSON object with 1,000,000 keys, ~14 MB) under a heap cap
// equal to the chart's memory limit (deploy/helm: 256Mi; kjd runs with
// --max-old-space-size=256), among 10 good items (issue 11 item 12). A
// supervisor restarts kjd when it exits, as the Deployment would. Expected:
// the poison item is dead-lettered once, the good items are done, and kjd
// never dies. Bound: 90 s.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineScenario } from './lib/define.ts';

defineScenario('poison-item', { timeoutMs: 240_000 }, async (use) => {
  const s = await use({ routes: ['list'], deadLettersExpected: true });
  await s.pushList(5);
  const keys: string[] = [];
  for (let i = 0; i < 1_000_000; i++) keys.push(`"k${i}":${i}`);
  const poisonId = `${s.p}-poison`;
  await s.redis.lpush(s.listKey, `{"id":"${poisonId}","CUSTOM_ID":"p",${keys.join(',')}}`);
  s.sent.push({ requestId: poisonId });
  await s.pushList(5, 5);
  const file = await s.config();
  const env = { NODE_OPTIONS: '--max-old-space-size=256' };
  let restarts = 0;
  let current = await s.startKjd(file, 'a', { env });
  const started = Date.now();
  const done = new AbortController();
  const stopping = () => done.signal.aborted;
  const supervisor = (async () => {
    while (!done.signal.aborted) {
      const exited = await Promise.race([current.exited.then(() => true), sleep(500).then(() => false)]);
      if (exited && !stopping()) {
        restarts++;
        current = await s.startKjd(file, `a${restarts}`, { env }).catch(() => current);
      }
    }
  })();
  const { census, recoverySeconds } = await s.settle(started, 90_000);
  done.abort();
  await supervisor;
  await s.verdict(
    census,
    recoverySeconds,
    () => {
      assert.equal(restarts, 0, `kjd died ${restarts} times on the poison item`);
      assert.equal(census.deadLettered, 1, 'the poison item is dead-lettered once');
      assert.equal(census.done, 10, 'the good items are done');
    },
    `kjd restarts: ${restarts}`,
  );
});
