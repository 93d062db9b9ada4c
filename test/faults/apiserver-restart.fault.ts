// kube-apiserver restart (private cluster: it cuts off every client). kjd
// serves a list and a stream route; the API server is stopped while Jobs are
// being created, stays down 5 s, and comes back with the same flags. Bound:
// every item settled 90 s after /readyz answers again.
import { setTimeout as sleep } from 'node:timers/promises';
import { controlApiserver } from '../../harness/faults/apiserver.ts';
import { defineScenario, scaled } from './lib/define.ts';

defineScenario('apiserver-restart', { privateCluster: true, timeoutMs: 420_000 }, async (use, cluster) => {
  if (cluster.local === undefined) throw new Error('needs a private cluster');
  const api = await controlApiserver(cluster.local);
  const s = await use({ routes: ['list', 'stream'] });
  s.onTearDown(() => api.stop());
  const n = scaled(100);
  await s.pushList(n);
  await s.addStream(n);
  await s.startKjd(await s.config(), 'a');
  while ((await s.census()).jobs < 20) await sleep(100);
  await api.restart({ downMs: 5_000 });
  const { census, recoverySeconds } = await s.settle(Date.now(), 90_000);
  await s.verdict(census, recoverySeconds);
});
