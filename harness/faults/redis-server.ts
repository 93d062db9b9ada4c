// One Debian redis-server (or sentinel) process on a chosen loopback port,
// with the faults a test injects: kill -9 and a start again on the same port
// and data folder. The building block of the Cluster and Sentinel starters.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisNotInstalledError } from '../redis.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from '../process.ts';

export interface RedisServerSpec {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  /** Command-line arguments after the config file (`--key value` pairs). */
  readonly args: readonly string[];
  /** A config file to write first and pass (sentinels rewrite theirs, so they need one). */
  readonly configText?: string;
  readonly binary?: string;
}

export interface RedisServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  isRunning(): boolean;
  /** SIGKILL, no flush, no goodbye; waits for the exit. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and data (after kill9 or stop). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(spec: RedisServerSpec): Promise<RedisServer> {
  await mkdir(spec.dir, { recursive: true });
  const binary = spec.binary ?? '/usr/bin/redis-server';
  const url = `redis://127.0.0.1:${spec.port}`;
  const configFile = join(spec.dir, `${spec.name}.conf`);
  if (spec.configText !== undefined) await writeFile(configFile, spec.configText);
  const args = [
    ...(spec.configText !== undefined ? [configFile] : []),
    '--port', String(spec.port), '--bind', '127.0.0.1', '--dir', spec.dir, '--daemonize', 'no',
    ...spec.args,
  ]; // prettier-ignore
  let proc: ManagedProcess | undefined;
  const launch = async () => {
    const p = startProcess({
      name: spec.name,
      command: binary,
      args,
      logFile: join(spec.dir, `${spec.name}.log`),
    });
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(r, 50, 'running'))]);
    if (code === 'spawn-error') throw new RedisNotInstalledError(binary);
    await waitUntilReady(p, () => answers(url), 20_000);
    proc = p;
  };
  await launch();
  return {
    name: spec.name,
    port: spec.port,
    url,
    dir: spec.dir,
    isRunning: () => proc?.isRunning() ?? false,
    async kill9() {
      if (proc === undefined || !proc.isRunning()) return;
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
    },
    start: launch,
    stop: async () => proc?.stop(),
  };
}

/** Answers PING (a cluster node answers before it has slots; LOADING is not an answer). */
async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } finally {
    client.disconnect();
  }
}

/** One command on a short-lived connection to one server. */
export async function askServer<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}
