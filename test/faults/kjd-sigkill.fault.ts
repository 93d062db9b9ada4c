// kjd SIGKILL: two replicas on a list route, each SIGKILLed at random points
// and started again. Bound: everything settled 60 s after the last restart.
import { setTimeout as sleep } from 'node:timers/promises';
import { killHard } from '../../harness/faults/kjd-process.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('kjd-sigkill', {}, async (use) => {
  const s = await use({ routes: ['list'] });
  const n = scaled(200);
  await s.pushList(n);
  const file = await s.config();
  for (let round = 0; round < 4; round++) {
    const a = await s.startKjd(file, `k${round}a`);
    const b = await s.startKjd(file, `k${round}b`);
    await sleep(300 + Math.floor(Math.random() * 1200));
    await killHard(round % 2 === 0 ? a : b);
    await sleep(200);
    await killHard(round % 2 === 0 ? b : a);
  }
  await s.startKjd(file, 'last');
  const faultEnded = Date.now();
  const { census, recoverySeconds } = await s.settle(faultEnded, 60_000);
  await s.verdict(census, recoverySeconds);
});
