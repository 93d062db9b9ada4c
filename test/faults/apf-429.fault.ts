// APF 429 storm (private cluster: FlowSchema and PriorityLevelConfiguration
// are cluster-wide). kjd runs as a ServiceAccount whose every request lands
// in a priority level with one share of concurrency and `Reject`, so most of
// its requests get 429 for 30 s. Items wait (never dead-lettered for a 429).
// Bound: every item done 60 s after the policy is removed.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { apfRejections, throttleServiceAccount } from '../../harness/faults/policy.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('apf-429', { privateCluster: true, timeoutMs: 420_000 }, async (use, cluster) => {
  const s = await use({ routes: ['list', 'stream'], limits: { maxInFlightCreates: 32 } });
  const token = await s.serviceAccountToken('kjd');
  const policy = await throttleServiceAccount(cluster.admin, {
    name: `kjd-${s.p}`,
    namespace: s.ns,
    serviceAccount: 'kjd',
  });
  s.onTearDown(() => policy.remove());
  const n = scaled(150);
  await s.pushList(n);
  await s.addStream(n);
  await s.startKjd(await s.config({ token }), 'a', { token });
  await sleep(30_000);
  const level = `kjd-${s.p}`;
  const rejected = cluster.local === undefined ? 0 : await apfRejections(cluster.local, level);
  await policy.remove();
  const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
  await s.verdict(
    census,
    recoverySeconds,
    () => {
      assert.ok(rejected > 0, "the API server rejected some of kjd's requests with 429");
      assert.equal(
        census.deadLettered,
        0,
        `a 429 is not the item's fault: ${JSON.stringify(census.deadReasons)}`,
      );
    },
    `429s from APF during the storm: ${rejected}`,
  );
});
