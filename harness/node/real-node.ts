// One real node for the local control plane: containerd + runc from Debian
// and a kubelet built from the pinned Kubernetes module. It is tainted and
// labelled, so only Pods that ask for it (nodeSelector + toleration, see
// REAL_NODE_SELECTOR) land there; kwok's nodes keep every other Pod.
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freePorts } from '../net.ts';
import { startProcess, stopPid, isProcessOf, waitUntilReady, type ManagedProcess } from '../process.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { makeLeaf, type CertPair } from '../cluster/pki.ts';
import {
  nodeLayout,
  writeCniConfig,
  writeContainerdConfig,
  writeKubeletConfig,
  type NodeLayout,
} from './config.ts';
import { HOST_BINARIES, restoreHost, snapshotHost } from './host.ts';
import {
  claimHostRecord,
  readHostRecord,
  RealNodeBusyError,
  recordIsLive,
  removeHostRecord,
  writeHostRecord,
  type HostRecord,
} from './host-lock.ts';
import { cachedImageTars, ensurePauseImage, importNewImages } from './images.ts';
import { killShims, removeAllContainers, unmountUnder } from './teardown.ts';
import { ensureTestShImage } from './testsh-image.ts';

const run = promisify(execFile);

export const REAL_NODE_NAME = 'kjd-real-node';
/** The label and the taint key: a Pod for the real node selects the one and tolerates the other. */
export const REAL_NODE_KEY = 'kjd.dev/real-node';
export const REAL_NODE_SELECTOR = { [REAL_NODE_KEY]: 'true' } as const;
export const REAL_NODE_TOLERATION = {
  key: REAL_NODE_KEY,
  operator: 'Equal',
  value: 'true',
  effect: 'NoSchedule',
} as const;

export interface RealNodeOptions {
  /** The cluster's folder; the node lives in `<clusterDir>/node`. */
  readonly clusterDir: string;
  /** The control plane's bin folder (holds `kubelet`). */
  readonly bin: string;
  readonly server: string;
  readonly ca: CertPair;
  /** Admin kubeconfig, to watch the Node become Ready. */
  readonly adminKubeconfig: string;
  readonly detached?: boolean;
  readonly log?: (message: string) => void;
}

export interface RealNode {
  readonly name: string;
  readonly ip: string;
  readonly dir: string;
  /** containerd's socket (for `ctr --address`). */
  readonly socket: string;
  readonly processes: readonly ManagedProcess[];
  /** Milliseconds from the kubelet's start to the Node's Ready condition. */
  readonly readyAfterMs: number;
  /** Stops the kubelet, the containers and containerd, then restores the host. Idempotent. */
  stop(): Promise<void>;
}

export async function startRealNode(o: RealNodeOptions): Promise<RealNode> {
  const log = o.log ?? (() => undefined);
  await claimHost(o.clusterDir);
  const l = nodeLayout(join(o.clusterDir, 'node'));
  await rm(l.dir, { recursive: true, force: true });
  await mkdir(join(l.dir, 'logs'), { recursive: true });
  const ip = await primaryIp();
  const host = await snapshotHost();
  const processes: ManagedProcess[] = [];
  const record = (): HostRecord => ({
    clusterDir: o.clusterDir,
    nodeDir: l.dir,
    nodeName: REAL_NODE_NAME,
    socket: l.socket,
    pids: processes.map((p) => ({ name: p.name, pid: p.pid })),
    claimedBy: process.pid,
    host,
  });
  // Written before anything changes the host, so a crash at any point can be undone;
  // exclusively, so that of two starts racing past claimHost only one goes on.
  await claimHostRecord(record());
  const stop = memoize(async () => {
    await teardown(record(), (m) => {
      log(m);
    });
  });
  try {
    const spawn = (name: string, command: string, args: string[]) => {
      const proc = startProcess({
        name,
        command,
        args,
        logFile: join(l.dir, 'logs', `${name}.log`),
        detached: o.detached ?? false,
      });
      processes.push(proc);
      return proc;
    };
    const [port = 0, healthzPort = 0] = await freePorts(2);
    await configure(l, o, ip, port, healthzPort);
    log(`real node: starting containerd (${l.socket})`);
    const containerd = spawn('containerd', HOST_BINARIES.containerd, ['--config', l.containerdConfig]);
    await writeHostRecord(record());
    await waitUntilReady(containerd, () => ctrWorks(l.socket), 30_000);
    // The pause image, the tests' shell image, and whatever else was built into the cache
    // (kjd.tar and kjd-worker.tar from the image build).
    const tars = [await ensurePauseImage(), await ensureTestShImage(), ...(await cachedImageTars())];
    const imported = await importNewImages(l.socket, l.dir, tars);
    log(`real node: imported ${imported.map((t) => t.split('/').at(-1)).join(', ')}`);
    const started = Date.now();
    const kubelet = spawn('kubelet', join(o.bin, 'kubelet'), kubeletArgs(l, ip));
    await writeHostRecord(record());
    await waitUntilReady(kubelet, () => nodeReady(o.adminKubeconfig), 90_000);
    const readyAfterMs = Date.now() - started;
    log(`real node ${REAL_NODE_NAME} (${ip}) Ready ${readyAfterMs} ms after the kubelet started`);
    return { name: REAL_NODE_NAME, ip, dir: l.dir, socket: l.socket, processes, readyAfterMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Frees the host's one real-node slot for us: a dead owner's leftovers (or our own) are cleaned up first. */
async function claimHost(clusterDir: string): Promise<void> {
  const existing = await readHostRecord();
  if (existing === undefined) return;
  if (recordIsLive(existing) && existing.clusterDir !== clusterDir)
    throw new RealNodeBusyError(existing.clusterDir);
  await teardown(existing, () => undefined);
}

async function configure(l: NodeLayout, o: RealNodeOptions, ip: string, port: number, healthzPort: number) {
  await mkdir(l.certDir, { recursive: true });
  const subject = `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`;
  const [client, serving] = await Promise.all([
    makeLeaf(l.certDir, o.ca, { file: 'kubelet-client', subject, usage: 'client' }),
    makeLeaf(l.certDir, o.ca, {
      file: 'kubelet-serving',
      subject,
      usage: 'server',
      sans: [`DNS:${REAL_NODE_NAME}`, 'DNS:localhost', 'IP:127.0.0.1', `IP:${ip}`],
    }),
  ]);
  await Promise.all([
    writeKubeconfig(l.kubeletKubeconfig, {
      server: o.server,
      caCert: o.ca.cert,
      user: `system:node:${REAL_NODE_NAME}`,
      identity: client,
    }),
    writeContainerdConfig(l),
    writeCniConfig(l),
    writeKubeletConfig(l, { caCert: o.ca.cert, serving, port, healthzPort }),
  ]);
}

function kubeletArgs(l: NodeLayout, ip: string): string[] {
  return [
    `--config=${l.kubeletConfig}`,
    `--kubeconfig=${l.kubeletKubeconfig}`,
    `--root-dir=${l.kubeletRoot}`,
    `--cert-dir=${l.certDir}`,
    `--hostname-override=${REAL_NODE_NAME}`,
    `--node-ip=${ip}`,
    `--node-labels=${REAL_NODE_KEY}=true`,
    `--register-with-taints=${REAL_NODE_KEY}=true:NoSchedule`,
  ];
}

/**
 * The address of the default route's interface. The kubelet refuses a
 * loopback node IP, and the API server reaches the kubelet at this address
 * (--kubelet-preferred-address-types=InternalIP).
 */
async function primaryIp(): Promise<string> {
  const { stdout } = await run('ip', ['-4', '-o', 'route', 'get', '192.0.2.255']).catch(() =>
    run('ip', ['-4', '-o', 'route', 'show', 'default']),
  );
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  if (src !== undefined) return src;
  const { stdout: addrs } = await run('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global']);
  const first = /inet (\d+\.\d+\.\d+\.\d+)/.exec(addrs)?.[1];
  if (first === undefined) throw new Error('no global IPv4 address on this host for the kubelet (--node-ip)');
  return first;
}

async function ctrWorks(socket: string): Promise<boolean> {
  await run(HOST_BINARIES.ctr, ['--address', socket, 'version'], { timeout: 5000 });
  return true;
}

async function nodeReady(kubeconfig: string): Promise<boolean> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const node = await kc.makeApiClient(CoreV1Api).readNode({ name: REAL_NODE_NAME });
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The kubelet first (so it restarts nothing), then the containers, then
 * containerd, then the mounts under the node's folder, then the host.
 */
async function teardown(record: HostRecord, log: (m: string) => void): Promise<void> {
  const pid = (name: string) => record.pids.find((p) => p.name === name)?.pid;
  const kubelet = pid('kubelet');
  if (kubelet !== undefined && isProcessOf(kubelet, 'kubelet')) await stopPid(kubelet, 10_000);
  const containerd = pid('containerd');
  if (containerd !== undefined && isProcessOf(containerd, 'containerd')) {
    await removeAllContainers(record.socket).catch((err: unknown) => {
      log(`real node: removing containers: ${String(err)}`);
    });
    await stopPid(containerd, 10_000);
  }
  await killShims(record.socket);
  await unmountUnder(record.nodeDir);
  const problems = await restoreHost(record.host);
  for (const p of problems) log(`real node: could not restore ${p}`);
  await removeHostRecord();
  log('real node stopped; host settings restored');
}

/** Stops the real node of the cluster in `clusterDir`, if this host runs one. */
export async function stopRecordedRealNode(clusterDir: string, log?: (m: string) => void): Promise<boolean> {
  const record = await readHostRecord();
  if (record?.clusterDir !== clusterDir) return false;
  await teardown(record, log ?? (() => undefined));
  return true;
}

/** The host's running real node, when it belongs to the cluster in `clusterDir`. */
export async function runningRealNode(clusterDir: string): Promise<HostRecord | undefined> {
  const record = await readHostRecord();
  return record?.clusterDir === clusterDir && recordIsLive(record) ? record : undefined;
}

function memoize<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}
