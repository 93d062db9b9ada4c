// etcd compaction that forces 410 Gone on kjd's watch (private cluster). The
// API server runs without its watch cache, so watches are served by etcd and
// a resumed watch whose resourceVersion was compacted gets 410 Expired. kjd
// is cut off (half-open) and frozen (SIGSTOP) for 8 s while the Jobs it created keep finishing, etcd
// is compacted to its current revision, and kjd is thawed behind a 0.5 s
// connection reset (a TCP proxy), so its watch resumes from a compacted
// revision. The reset is kept short so that no request exhausts its retries:
// the scenario is about the 410, not about an unreachable API server.
// Bound: every item settled 60 s after that.
import { setTimeout as sleep } from 'node:timers/promises';
import { controlApiserver } from '../../../harness/faults/apiserver.ts';
import assert from 'node:assert/strict';
import { BatchV1Api } from '@kubernetes/client-node';
import { etcdClient, watchIsGone } from '../../../harness/faults/etcd.ts';
import { defineScenario, scaled } from './define.ts';
import { hostPort, proxyFor } from './proxy.ts';

export function defineEtcdScenario(name: string, jobTtlSeconds?: number): void {
  defineScenario(name, { privateCluster: true, timeoutMs: 420_000 }, async (use, cluster) => {
    if (cluster.local === undefined) throw new Error('needs a private cluster');
    const api = await controlApiserver(cluster.local);
    await api.restart({ extraArgs: ['--watch-cache=false'] });
    const etcd = await etcdClient(cluster.local);
    const s = await use({
      routes: ['list', 'stream'],
      ...(jobTtlSeconds !== undefined ? { jobTtlSeconds } : {}),
    });
    s.onTearDown(() => api.stop());
    const proxy = await proxyFor(s, 'api', hostPort(cluster.server));
    const via = { apiVia: proxy.listen };
    const n = scaled(100);
    await s.pushList(n);
    await s.addStream(n);
    const kjd = await s.startKjd(await s.config(via), 'a', via);
    while ((await s.census()).jobs < 20) await sleep(100);
    const before = await cluster.admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: s.ns });
    // Silenced (no data reaches kjd, so no event sits in its socket buffer)
    // and frozen, kjd misses the Jobs finishing; etcd then forgets those revisions.
    await proxy.add('silence', { type: 'half_open' });
    kjd.child.kill('SIGSTOP');
    await sleep(8_000);
    const revision = await etcd.compactNow();
    const gone = await watchIsGone(cluster.local, s.ns, before.metadata?.resourceVersion ?? '0');
    // Thawed behind a brief reset, kjd must watch again from its last resourceVersion: 410.
    await proxy.add('cut', { type: 'reset_peer', timeoutMs: 0 });
    await proxy.remove('silence');
    kjd.child.kill('SIGCONT');
    await sleep(500);
    await proxy.remove('cut');
    const { census, recoverySeconds } = await s.settle(Date.now(), 60_000);
    await s.verdict(
      census,
      recoverySeconds,
      () => {
        assert.ok(gone, 'a watch from before the compaction gets 410');
      },
      `compacted at revision ${revision}; 410 for an old watch: ${String(gone)}`,
    );
  });
}
