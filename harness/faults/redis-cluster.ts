// A real Redis Cluster on loopback: six Debian redis-server processes, made
// into three primaries with one replica each by `redis-cli --cluster create`,
// and the faults the tests inject: kill -9 of a primary (its replica takes
// over after cluster-node-timeout), a restart (it rejoins as a replica), and
// `redis-cli --cluster reshard` of one slot.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePorts } from '../net.ts';
import { askServer, startRedisServer, type RedisServer } from './redis-server.ts';

const run = promisify(execFile);

export interface RedisClusterOptions {
  readonly dir: string;
  /** Default `always`: an acknowledged write survives kill -9 of the node that took it (not its failover). */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** How long a silent primary takes to be failed over. Default 2000 ms. */
  readonly nodeTimeoutMs?: number;
  /** More `--key value` arguments for every node, e.g. ['--min-replicas-to-write', '1']. */
  readonly extraArgs?: readonly string[];
}

export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly primary: boolean;
  /** For a replica: its primary's id. */
  readonly primaryId: string | undefined;
  readonly failed: boolean;
  readonly slots: readonly (readonly [number, number])[];
}

export interface LocalRedisCluster {
  readonly servers: readonly RedisServer[];
  readonly nodes: readonly { host: string; port: number }[];
  /** CLUSTER NODES as one live node sees it. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** The live primary serving `slot`, per the first node that answers. */
  primaryOf(slot: number): Promise<ClusterNodeInfo>;
  server(port: number): RedisServer;
  /** Until a node other than `oldPort` serves `slot` and every live node says cluster_state:ok. */
  waitForFailover(slot: number, oldPort: number, timeoutMs?: number): Promise<void>;
  /** `redis-cli --cluster reshard` of one slot from `from` to `to` (it moves `from`'s lowest slot). */
  reshardOne(from: ClusterNodeInfo, to: ClusterNodeInfo): Promise<void>;
  /** Until every live node has cluster_state:ok and agrees on who serves `slot`. */
  waitForOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Six cluster-enabled servers, each with its own data port and bus port (chosen free, not port + 10000). */
async function startNodes(options: RedisClusterOptions): Promise<RedisServer[]> {
  const ports = await freePorts(12);
  return Promise.all(
    Array.from({ length: 6 }, (_, i) => {
      const port = ports[i] ?? 0;
      return startRedisServer({
        name: `redis-cluster-${port}`,
        port,
        dir: join(options.dir, String(port)),
        args: [
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
          '--cluster-port', String(ports[i + 6] ?? 0),
          '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2000),
          // A replica's first sync starts at once, not after 5 s: a replica that
          // never synced refuses to fail over ("disconnected for too long").
          '--repl-diskless-sync-delay', '0',
          '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always', '--save', '',
          ...(options.extraArgs ?? []),
        ],
      }); // prettier-ignore
    }),
  );
}

export async function startRedisCluster(options: RedisClusterOptions): Promise<LocalRedisCluster> {
  const servers = await startNodes(options);
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
  const live = () => servers.filter((s) => s.isRunning());

  const topology = async (): Promise<ClusterNodeInfo[]> => {
    let last: unknown;
    for (const s of live()) {
      try {
        return parseNodes(String(await askServer(s.url, (r) => r.call('CLUSTER', 'NODES'))));
      } catch (err) {
        last = err;
      }
    }
    throw new Error('no cluster node answers', { cause: last });
  };
  const primaryOf = async (slot: number) => {
    const owner = (await topology()).find(
      (n) => n.primary && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    if (owner === undefined) throw new Error(`no live primary serves slot ${slot}`);
    return owner;
  };
  /**
   * Every live node: cluster_state:ok, replicas in sync with their primary,
   * and in its view every live primary has slots (replicas have learned their role).
   */
  const waitForOk = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const views = await Promise.all(
        live().map((s) =>
          askServer(s.url, async (r) => ({
            info: String(await r.call('CLUSTER', 'INFO')) + (await r.info('replication')),
            nodes: parseNodes(String(await r.call('CLUSTER', 'NODES'))),
          })).catch(() => undefined),
        ),
      );
      const settled = views.every(
        (v) =>
          v !== undefined &&
          v.info.includes('cluster_state:ok') &&
          (v.info.includes('role:master') || v.info.includes('master_link_status:up')) &&
          v.nodes.every((n) => n.failed || !n.primary || n.slots.length > 0),
      );
      if (settled) return;
      await sleep(100);
    }
    throw new Error(`the cluster is not ok after ${timeoutMs} ms`);
  };
  await waitForOk();

  return {
    servers,
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    topology,
    primaryOf,
    server: (port) => {
      const s = servers.find((x) => x.port === port);
      if (s === undefined) throw new Error(`no node on ${port}`);
      return s;
    },
    async waitForFailover(slot, oldPort, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const owner = await primaryOf(slot).catch(() => undefined);
        if (owner !== undefined && owner.port !== oldPort) return waitForOk(deadline - Date.now());
        await sleep(100);
      }
      throw new Error(`slot ${slot} still not failed over after ${timeoutMs} ms`);
    },
    async reshardOne(from, to) {
      await run('redis-cli', [
        '--cluster', 'reshard', `127.0.0.1:${to.port}`, '--cluster-from', from.id, '--cluster-to', to.id,
        '--cluster-slots', '1', '--cluster-yes',
      ]); // prettier-ignore
    },
    waitForOk,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** `<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>…` per line. */
function parseNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', primaryId = '-', , , , , ...slots] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1] ?? 0);
      const flagList = flags.split(',');
      return {
        id,
        port,
        primary: flagList.includes('master'),
        primaryId: primaryId === '-' ? undefined : primaryId,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a ?? 0, b ?? a ?? 0] as const;
          }),
      };
    });
}
