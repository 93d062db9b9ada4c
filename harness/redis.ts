// Debian's redis-server on a free loopback port, append-only persistence on,
// so restart tests (graceful or SIGKILL) find their data again.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts } from './net.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.ts';

export interface LocalRedisOptions {
  /** Data and log folder. */
  readonly dir: string;
  /** `always` survives SIGKILL with every acknowledged write; `everysec` may lose ~1 s. Default `always`. */
  readonly appendfsync?: 'always' | 'everysec';
  readonly binary?: string;
  readonly detached?: boolean;
}

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: () => ManagedProcess;
  /** Graceful stop (SIGTERM: Redis flushes the AOF), then start on the same port and data. */
  restart(): Promise<void>;
  /** SIGKILL, then start again on the same port and data. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

export class RedisNotInstalledError extends Error {
  override readonly name = 'RedisNotInstalledError';
  constructor(binary: string) {
    super(`${binary} not found: install Debian's redis-server (apt-get install -y redis-server)`);
  }
}

export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  await mkdir(options.dir, { recursive: true });
  const binary = options.binary ?? '/usr/bin/redis-server';
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir,
    '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always',
    '--save', '', '--daemonize', 'no', '--protected-mode', 'yes',
  ]; // prettier-ignore
  const url = `redis://127.0.0.1:${port}`;

  let proc = await launch();
  async function launch(): Promise<ManagedProcess> {
    const p = startProcess({
      name: 'redis-server',
      command: binary,
      args,
      logFile: join(options.dir, 'redis.log'),
      detached: options.detached ?? false,
    });
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(r, 50, 'running'))]);
    if (code === 'spawn-error') throw new RedisNotInstalledError(binary);
    await waitUntilReady(p, () => ping(url), 20_000);
    return p;
  }

  return {
    url,
    port,
    dir: options.dir,
    process: () => proc,
    async restart() {
      await proc.stop();
      proc = await launch();
    },
    async crashAndRestart() {
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
      proc = await launch();
    },
    stop: () => proc.stop(),
  };
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The refused connect rejects connect() below; without a listener ioredis also
  // prints it as an "Unhandled error event" while Redis is still starting.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // A Redis still loading its AOF answers LOADING (an error): not ready yet.
    await client.ping();
    return true;
  } finally {
    client.disconnect();
  }
}
