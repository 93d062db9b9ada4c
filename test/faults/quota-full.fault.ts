// A full ResourceQuota (count/jobs.batch = 3) in the route's namespace: the
// API server answers 403 "exceeded quota". No capacity is not the item's
// fault: items wait (never dead-lettered) and go on once the quota is raised
// after 20 s. Bound: every item done 60 s after that.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { limitJobs } from '../../harness/faults/policy.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('quota-full', {}, async (use, cluster) => {
  const s = await use({ routes: ['list'] });
  const quota = await limitJobs(cluster.admin, { name: 'jobs', namespace: s.ns, jobs: 3 });
  await sleep(1_000);
  const n = scaled(12);
  await s.pushList(n);
  await s.startKjd(await s.config(), 'a');
  await sleep(20_000);
  const during = await s.census();
  await quota.setJobs(1000);
  const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
  await s.verdict(census, recoverySeconds, () => {
    assert.ok(during.jobs <= 3, `the quota held: ${during.jobs} Jobs`);
    assert.equal(
      during.deadLettered,
      0,
      `no item dead-lettered while the quota was full: ${JSON.stringify(during.deadReasons)}`,
    );
    assert.equal(census.deadLettered, 0);
  });
});
