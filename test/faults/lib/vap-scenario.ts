// Admission denial by a ValidatingAdmissionPolicy (private cluster: the
// policy is cluster-scoped, its binding selects the scenario's namespace).
// 20 list items are denied (CUSTOM_ID deny-*), 10 good list items sit behind
// them, and a stream route in the same kjd has 10 good items of its own.
// Expected (issue 11 item 9): the denied items are dead-lettered with the
// policy's message, every good item gets its Job, the stream route keeps
// going. Bound: settled within 60 s of kjd's start.
import assert from 'node:assert/strict';
import { DENIAL_MESSAGE, denyJobsByPolicy } from '../../../harness/faults/policy.ts';
import { defineScenario } from './define.ts';

export function defineVapScenario(name: string, reason: 'Forbidden' | undefined): void {
  defineScenario(name, { privateCluster: true, timeoutMs: 300_000 }, async (use, cluster) => {
    const s = await use({ routes: ['list', 'stream'], deadLettersExpected: true });
    const policy = await denyJobsByPolicy(cluster.admin, {
      name: `deny-${s.p}`,
      namespace: s.ns,
      ...(reason ? { reason } : {}),
    });
    s.onTearDown(() => policy.remove());
    // The API server's policy cache takes a moment to see a new binding.
    await new Promise((r) => setTimeout(r, 3_000));
    await s.pushList(20, 0, (i) => ({ CUSTOM_ID: `deny-${i}` }));
    await s.pushList(10, 100);
    await s.addStream(10);
    await s.startKjd(await s.config(), 'a');
    const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
    await s.verdict(census, recoverySeconds, () => {
      assert.equal(
        census.deadLettered,
        20,
        `exactly the denied items are dead-lettered: ${JSON.stringify(census.deadReasons)}`,
      );
      assert.equal(census.done, 20, 'every good item (10 list, 10 stream) has its Job and result');
      for (const r of Object.keys(census.deadReasons))
        assert.ok(r.includes(DENIAL_MESSAGE), `the denial's message is kept: ${r}`);
    });
  });
}
