// One node:test test per scenario file, with its cluster (shared, or a
// private one for faults that hit every client of a cluster) and teardown.
import { test } from 'node:test';
import { privateCluster, sharedCluster, type FaultCluster } from './env.ts';
import { Scenario, type ScenarioOptions } from './scenario.ts';

export interface DefineOptions {
  /** Start a private cluster (API server restart, etcd compaction, cluster-wide policy). */
  readonly privateCluster?: boolean;
  readonly timeoutMs?: number;
}

export type Use = (o: Omit<ScenarioOptions, 'name' | 'cluster'>) => Promise<Scenario>;

export function defineScenario(
  name: string,
  o: DefineOptions,
  body: (use: Use, cluster: FaultCluster) => Promise<void>,
): void {
  test(name, { timeout: o.timeoutMs ?? 300_000 }, async () => {
    const cluster = o.privateCluster === true ? await privateCluster(name) : await sharedCluster();
    const made: Scenario[] = [];
    try {
      await body(async (so) => {
        const s = new Scenario({ ...so, name, cluster });
        made.push(s);
        await s.setUp();
        return s;
      }, cluster);
    } finally {
      for (const s of made) await s.tearDown().catch(() => undefined);
      await cluster.stop();
    }
  });
}

/** Item count for a scenario: KJD_FAULTS_SCALE (default 1) times `n`, at least 1. */
export function scaled(n: number): number {
  const k = Number(process.env.KJD_FAULTS_SCALE ?? '1');
  return Math.max(1, Math.round(n * (Number.isFinite(k) && k > 0 ? k : 1)));
}
