// Debian's redis-server as a primary and a replica (AOF everysec on both, as
// durability is claimed "within a second"), with the two faults the suite
// injects: kill -9 + restart from the AOF, and a promotion of the replica in
// which the old primary is turned into a replica of the new one, so clients
// still connected to it get READONLY errors on every write.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../redis.ts';

export interface RedisPair {
  /** The server that takes writes now (changes on promote()). */
  readonly primary: LocalRedis;
  readonly replica: LocalRedis;
  /**
   * REPLICAOF NO ONE on the replica, then the old primary becomes its replica
   * (READONLY for writers). Returns the new primary.
   */
  promote(): Promise<LocalRedis>;
  stop(): Promise<void>;
}

export async function startRedisPair(dir: string): Promise<RedisPair> {
  let primary = await startLocalRedis({ dir: join(dir, 'a'), appendfsync: 'everysec' });
  let replica = await startLocalRedis({ dir: join(dir, 'b'), appendfsync: 'everysec' });
  await replicate(replica, primary);
  return {
    get primary() {
      return primary;
    },
    get replica() {
      return replica;
    },
    async promote() {
      await withClient(replica.url, (r) => r.replicaof('NO', 'ONE'));
      await replicate(primary, replica);
      [primary, replica] = [replica, primary];
      return primary;
    },
    async stop() {
      await Promise.all([primary.stop(), replica.stop()]);
    },
  };
}

/** Makes `follower` a replica of `leader` and waits until the link is up and in sync. */
export async function replicate(follower: LocalRedis, leader: LocalRedis): Promise<void> {
  await withClient(follower.url, async (r) => {
    await r.replicaof('127.0.0.1', leader.port);
    for (let i = 0; i < 200; i++) {
      const info = await r.info('replication');
      if (/master_link_status:up/.test(info) && !/master_sync_in_progress:1/.test(info)) return;
      await sleep(50);
    }
    throw new Error(`${follower.url} did not sync with ${leader.url} in 10 s`);
  });
}

/** Replication offset both sides agree on: the replica has every write the primary acknowledged. */
export async function waitForReplicaCatchUp(pair: RedisPair, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await withClient(pair.primary.url, (r) => r.info('replication'));
    const s = await withClient(pair.replica.url, (r) => r.info('replication'));
    const po = /master_repl_offset:(\d+)/.exec(p)?.[1];
    const so = /master_repl_offset:(\d+)/.exec(s)?.[1];
    if (po !== undefined && po === so) return;
    await sleep(50);
  }
  throw new Error('replica did not catch up');
}

async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}
