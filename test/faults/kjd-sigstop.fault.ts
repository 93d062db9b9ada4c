// kjd SIGSTOP/SIGCONT with 2 replicas: one replica is frozen for 8 s (longer
// than the list heartbeat TTL of 1 s and the stream's claimIdleMs of 5 s), so
// the other takes over its items; then it thaws and carries on with what it
// still holds. Bound: every item settled 60 s after the thaw.
import { setTimeout as sleep } from 'node:timers/promises';
import { freeze } from '../../harness/faults/kjd-process.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('kjd-sigstop', {}, async (use) => {
  const s = await use({ routes: ['list', 'stream'] });
  const n = scaled(100);
  await s.pushList(n);
  await s.addStream(n);
  const file = await s.config();
  const a = await s.startKjd(file, 'a');
  await s.startKjd(file, 'b');
  while ((await s.census()).jobs < 20) await sleep(100);
  await freeze(a, 8_000);
  const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
  await s.verdict(census, recoverySeconds);
});
