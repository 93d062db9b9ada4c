// TCP proxy kjd→API server, half-open (no data, no FIN), with maxActiveJobs 2
// and 8 items (4 list, 4 stream): issue 11 item 6. kjd reaches the API server
// through a TCP switch and toxiproxy. Once 2 Jobs exist, every open
// connection goes half-open (toxiproxy's timeout toxic, timeout 0) and stays
// so; after 20 s new connections are routed around toxiproxy and work. The
// Jobs that finished meanwhile were never reported on the dead watch: kjd
// must notice the silence, watch again and take the other items.
// Bound: all 8 items done 120 s after new connections work: kjd restarts a
// watch silent for kubernetes.watchIdleSeconds (90 s by default; the API
// server sends a bookmark every minute), then relists and takes the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpSwitch } from '../../harness/faults/tcp-switch.ts';
import { defineScenario } from './lib/define.ts';
import { hostPort, proxyFor } from './lib/proxy.ts';

defineScenario('api-proxy-half-open', {}, async (use, cluster) => {
  const s = await use({ routes: ['list', 'stream'], limits: { maxActiveJobs: 2 } });
  const api = hostPort(cluster.server);
  const proxy = await proxyFor(s, 'api', api);
  const sw = await startTcpSwitch(proxy.listen);
  s.onTearDown(() => sw.close());
  const via = { apiVia: sw.listen };
  await s.pushList(4);
  await s.addStream(4);
  await s.startKjd(await s.config(via), 'a', via);
  while ((await s.census()).jobs < 2) await sleep(100);
  await proxy.add('half-open', { type: 'half_open' });
  await sleep(20_000);
  // The old connections stay half-open (the toxic stays); new ones go straight to the API server.
  sw.route(api);
  const { census, recoverySeconds } = await s.settle(Date.now(), 120_000);
  await s.verdict(census, recoverySeconds);
});
