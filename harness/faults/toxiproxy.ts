// toxiproxy-server (built by controlplane/build-toxiproxy.sh) on loopback, and
// a small typed client for the parts of its HTTP API the fault suite uses.
// Why toxiproxy: docs/adr/0004-fault-proxy.md.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from '../net.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from '../process.ts';

const run = promisify(execFile);
const buildScript = new URL('../../controlplane/build-toxiproxy.sh', import.meta.url).pathname;

/** A toxic, named for what it does to the connection. Rates and times as toxiproxy takes them. */
export type Toxic =
  | { readonly type: 'latency'; readonly latencyMs: number; readonly jitterMs?: number }
  /** Closes every connection with an RST after `timeoutMs` (0: at once). */
  | { readonly type: 'reset_peer'; readonly timeoutMs: number }
  /** Half-open: no data passes and no FIN is sent while the toxic is there (timeout 0). */
  | { readonly type: 'half_open' }
  /** Nothing passes, connections stay up (bandwidth 0 KB/s). */
  | { readonly type: 'stall' };

export type Direction = 'upstream' | 'downstream';

export interface FaultProxy {
  readonly name: string;
  /** host:port kjd connects to instead of the real server. */
  readonly listen: string;
  readonly port: number;
  /** Adds the toxic in both directions (or one); returns its names for remove(). */
  add(name: string, toxic: Toxic, directions?: readonly Direction[]): Promise<void>;
  remove(name: string): Promise<void>;
  /** Disabled: every connection is closed and new ones are refused. */
  setEnabled(enabled: boolean): Promise<void>;
  /** Points the proxy at another server (a failover); toxiproxy restarts the listener. */
  setUpstream(upstream: string): Promise<void>;
}

export interface Toxiproxy {
  readonly api: string;
  createProxy(name: string, upstream: string): Promise<FaultProxy>;
  stop(): Promise<void>;
}

export class ToxiproxyError extends Error {
  override readonly name = 'ToxiproxyError';
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`toxiproxy ${what}: HTTP ${status} ${body.slice(0, 300)}`);
    this.status = status;
  }
}

/** Path of the toxiproxy-server binary, building it (once, cached by version) when missing. */
export async function toxiproxyBinary(): Promise<string> {
  const { stdout } = await run('bash', [buildScript], { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').at(-1) ?? '';
}

export async function startToxiproxy(options: { dir: string }): Promise<Toxiproxy> {
  await mkdir(options.dir, { recursive: true });
  const [port] = await freePorts(1);
  const api = `http://127.0.0.1:${port ?? 0}`;
  const proc: ManagedProcess = startProcess({
    name: 'toxiproxy-server',
    command: await toxiproxyBinary(),
    args: ['-host', '127.0.0.1', '-port', String(port)],
    logFile: join(options.dir, 'toxiproxy.log'),
  });
  await waitUntilReady(proc, async () => (await fetch(`${api}/version`)).ok, 10_000);
  const call = async (what: string, method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new ToxiproxyError(what, res.status, text);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  return {
    api,
    async createProxy(name, upstream) {
      const [listenPort] = await freePorts(1);
      const listen = `127.0.0.1:${listenPort ?? 0}`;
      await call(`create ${name}`, 'POST', '/proxies', { name, listen, upstream, enabled: true });
      return proxyHandle(call, name, listen, listenPort ?? 0);
    },
    stop: () => proc.stop(),
  };
}

type Call = (what: string, method: string, path: string, body?: unknown) => Promise<unknown>;

function proxyHandle(call: Call, name: string, listen: string, port: number): FaultProxy {
  const path = `/proxies/${encodeURIComponent(name)}`;
  const added = new Map<string, string[]>();
  return {
    name,
    listen,
    port,
    async add(toxicName, toxic, directions = ['upstream', 'downstream']) {
      const names: string[] = [];
      for (const stream of directions) {
        const full = `${toxicName}-${stream}`;
        await call(`add ${full}`, 'POST', `${path}/toxics`, {
          name: full,
          stream,
          toxicity: 1,
          ...body(toxic),
        });
        names.push(full);
      }
      added.set(toxicName, names);
    },
    async remove(toxicName) {
      for (const full of added.get(toxicName) ?? []) {
        await call(`remove ${full}`, 'DELETE', `${path}/toxics/${encodeURIComponent(full)}`);
      }
      added.delete(toxicName);
    },
    async setEnabled(enabled) {
      await call(`${enabled ? 'enable' : 'disable'} ${name}`, 'POST', path, { enabled });
    },
    async setUpstream(upstream) {
      await call(`upstream ${name}`, 'POST', path, { upstream });
    },
  };
}

function body(t: Toxic): { type: string; attributes: Record<string, number> } {
  switch (t.type) {
    case 'latency':
      return { type: 'latency', attributes: { latency: t.latencyMs, jitter: t.jitterMs ?? 0 } };
    case 'reset_peer':
      return { type: 'reset_peer', attributes: { timeout: t.timeoutMs } };
    case 'half_open':
      // toxiproxy's timeout toxic with timeout 0 drops all data and never closes.
      return { type: 'timeout', attributes: { timeout: 0 } };
    case 'stall':
      return { type: 'bandwidth', attributes: { rate: 0 } };
  }
}
