// The TCP-proxy scenarios, shared by the API-server and Redis variants: kjd
// reaches the server only through toxiproxy; a toxic is added while items are
// in flight and removed after `faultMs` (or, with `stayDead`, left on the
// connections it hit while new connections are routed around it by a TCP
// switch); everything must then settle within the stated bound.
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpSwitch } from '../../../harness/faults/tcp-switch.ts';
import type { Toxic } from '../../../harness/faults/toxiproxy.ts';
import { defineScenario, scaled } from './define.ts';
import { hostPort, proxyFor } from './proxy.ts';

export interface TcpScenario {
  readonly name: string;
  readonly target: 'api' | 'redis';
  readonly toxic: Toxic;
  readonly faultMs: number;
  readonly boundMs: number;
  readonly items: number;
  readonly limits?: Record<string, number>;
  /** Start the fault once this many Jobs exist. */
  readonly afterJobs?: number;
  /** The connections the toxic hit stay so; only new connections work after `faultMs`. */
  readonly stayDead?: boolean;
}

export function defineTcpScenario(t: TcpScenario): void {
  defineScenario(t.name, {}, async (use, cluster) => {
    const s = await use({ routes: ['list', 'stream'], ...(t.limits ? { limits: t.limits } : {}) });
    const upstream = t.target === 'api' ? hostPort(cluster.server) : hostPort(s.redisUrl);
    const proxy = await proxyFor(s, t.target, upstream);
    const sw = await startTcpSwitch(proxy.listen);
    s.onTearDown(() => sw.close());
    const via = t.target === 'api' ? { apiVia: sw.listen } : { redisUrl: `redis://${sw.listen}` };
    const n = scaled(t.items);
    await s.pushList(n);
    await s.addStream(n);
    await s.startKjd(await s.config(via), 'a', via);
    const start = Date.now();
    while ((await s.census()).jobs < (t.afterJobs ?? 1) && Date.now() - start < 60_000) await sleep(100);
    await proxy.add('fault', t.toxic);
    await sleep(t.faultMs);
    if (t.stayDead === true) sw.route(upstream);
    else await proxy.remove('fault');
    const { census, recoverySeconds } = await s.settle(Date.now(), t.boundMs);
    await s.verdict(census, recoverySeconds);
  });
}
