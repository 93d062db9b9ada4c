// A real Sentinel setup on loopback: one primary, one replica and three
// sentinels (quorum 2), all Debian redis-server processes, with the fault
// the tests inject: kill -9 of the primary, after which the sentinels
// promote the replica (down-after-milliseconds, then an election).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../net.ts';
import { startFreezableRelay, type FreezableRelay } from './freezable-relay.ts';
import { askServer, startRedisServer, type RedisServer } from './redis-server.ts';

export const SENTINEL_MASTER_NAME = 'kjd';

export interface RedisSentinelOptions {
  readonly dir: string;
  /** Default `always`. */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Silence before the primary is taken for down. Default 2000 ms. */
  readonly downAfterMs?: number;
  /** More `--key value` arguments for the primary and the replica, e.g. ['--min-replicas-to-write', '1']. */
  readonly extraArgs?: readonly string[];
  /**
   * The replica replicates through a relay the test can freeze (replication
   * held back while both servers look healthy). The sentinels' failover
   * timeout is then 60 s, so they do not "fix" the replica's master address
   * (the relay's) back to the primary's during a test.
   */
  readonly replicateThroughRelay?: boolean;
}

export interface LocalRedisSentinel {
  readonly name: string;
  /** The two data servers; which one is primary changes on failover. */
  readonly servers: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  readonly sentinelNodes: readonly { host: string; port: number }[];
  /** With replicateThroughRelay: the link the replica replicates over. */
  readonly relay: FreezableRelay | undefined;
  /** The primary's port as the sentinels report it. */
  primaryPort(): Promise<number>;
  /** Until the sentinels report a primary other than `oldPort`, and it answers as master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  server(port: number): RedisServer;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: RedisSentinelOptions): Promise<LocalRedisSentinel> {
  const [primaryPort = 0, replicaPort = 0, ...sentinelPorts] = await freePorts(5);
  const data = (port: number, replicaOf?: number) =>
    startRedisServer({
      name: `redis-${port}`,
      port,
      dir: join(options.dir, String(port)),
      args: [
        '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always', '--save', '',
        '--repl-diskless-sync-delay', '0',
        ...(replicaOf !== undefined ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
        ...(options.extraArgs ?? []),
      ],
    }); // prettier-ignore
  const primary = await data(primaryPort);
  const relay = options.replicateThroughRelay === true ? await startFreezableRelay(primaryPort) : undefined;
  const replica = await data(replicaPort, relay?.port ?? primaryPort);
  await waitForLink(replica.url);
  const sentinels = await startSentinels(options, sentinelPorts, primaryPort);
  const servers = [primary, replica];
  const primaryPortNow = async (): Promise<number> => {
    for (const s of sentinels.filter((x) => x.isRunning())) {
      const reply = await askServer(s.url, (r) =>
        r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME),
      ).catch(() => undefined);
      if (Array.isArray(reply)) return Number(reply[1]);
    }
    throw new Error('no sentinel answers');
  };
  // Until every sentinel knows the replica and the other sentinels (else a failover cannot be voted on).
  await waitFor(20_000, 'sentinels to discover each other and the replica', async () => {
    const views = await Promise.all(
      sentinels.map((s) =>
        askServer(s.url, (r) => r.call('SENTINEL', 'MASTER', SENTINEL_MASTER_NAME)).catch(() => []),
      ),
    );
    return views.every((v) => {
      const f = fields(v);
      return f['num-other-sentinels'] === '2' && f['num-slaves'] === '1';
    });
  });
  return {
    name: SENTINEL_MASTER_NAME,
    servers,
    sentinels,
    sentinelNodes: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    relay,
    primaryPort: primaryPortNow,
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      let port = oldPort;
      await waitFor(timeoutMs, 'the sentinels to promote the replica', async () => {
        port = await primaryPortNow().catch(() => oldPort);
        if (port === oldPort) return false;
        const role = await askServer(`redis://127.0.0.1:${port}`, (r) => r.info('replication')).catch(
          () => '',
        );
        return role.includes('role:master');
      });
      return port;
    },
    server: (port) => {
      const s = servers.find((x) => x.port === port);
      if (s === undefined) throw new Error(`no data server on ${port}`);
      return s;
    },
    async stop() {
      await relay?.close();
      await Promise.all([...sentinels, ...servers].map((s) => s.stop()));
    },
  };
}

/** Three sentinels watching the primary, quorum 2. */
function startSentinels(
  options: RedisSentinelOptions,
  ports: readonly number[],
  primaryPort: number,
): Promise<RedisServer[]> {
  const downAfter = options.downAfterMs ?? 2000;
  return Promise.all(
    ports.map((port) =>
      startRedisServer({
        name: `sentinel-${port}`,
        port,
        dir: join(options.dir, `s${port}`),
        // Sentinels rewrite their config file (what they learned), so they need one.
        configText: [
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${downAfter}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${options.replicateThroughRelay === true ? 60_000 : 10_000}`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
        args: ['--sentinel'],
      }),
    ),
  );
}

/** A replica's link to its primary is up and the first sync done. */
export async function waitForLink(url: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(timeoutMs, `${url} to sync with its primary`, async () => {
    const info = await askServer(url, (r) => r.info('replication'));
    return info.includes('master_link_status:up') && !info.includes('master_sync_in_progress:1');
  });
}

async function waitFor(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** SENTINEL MASTER's flat [field, value, …] reply as a record. */
function fields(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}
