// A real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (fake Nodes whose Pods run
// and finish as harness/cluster/kwok-stages.yaml says). Built from upstream
// modules by controlplane/build.sh.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freePorts, httpsGet } from '../net.ts';
import { isProcessOf, startProcess, stopPid, waitUntilReady, type ManagedProcess } from '../process.ts';
import { stateDir } from '../paths.ts';
import { controlPlaneBinDir } from './binaries.ts';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokArgs,
  schedulerArgs,
  type Layout,
  type Ports,
  type ControllerManagerTuning,
} from './components.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createPki } from './pki.ts';
import { createKwokNodes, waitForBootstrap } from './bootstrap.ts';
import { startRealNodeIfSupported, type RealNodeStatus } from '../node/start.ts';
import { stopRecordedRealNode } from '../node/real-node.ts';

export interface LocalClusterOptions {
  /** Folder name under the state dir; also the kubeconfig context name. Default `local`. */
  readonly name?: string;
  /** Default: KJD_STATE_DIR or `<repo>/.kjd`, then `clusters/<name>`. */
  readonly dir?: string;
  /** Number of kwok Nodes. Default 3. */
  readonly nodes?: number;
  /** Leave the processes running after this process exits (`cluster:up`). */
  readonly detached?: boolean;
  /** Build missing binaries instead of failing. Default true. */
  readonly build?: boolean;
  /** etcd without fsync (faster, not durable). Default true. */
  readonly etcdUnsafeNoFsync?: boolean;
  /**
   * Add the real node (containerd + kubelet, harness/node/) when the host can
   * run it; when it cannot, `realNode` says why. Default false.
   */
  readonly realNode?: boolean;
  /** kube-controller-manager's Job sync workers and API QPS: the harness's (default) or upstream's. */
  readonly controllerManager?: ControllerManagerTuning;
  readonly log?: (message: string) => void;
}

export interface LocalCluster {
  readonly name: string;
  readonly dir: string;
  readonly server: string;
  readonly ports: Ports;
  /** Admin kubeconfig (system:masters: bypasses RBAC). */
  readonly kubeconfigPath: string;
  readonly caFile: string;
  readonly logsDir: string;
  readonly nodeNames: readonly string[];
  readonly processes: readonly ManagedProcess[];
  /** The real node, or why there is none. */
  readonly realNode: RealNodeStatus;
  /** Stops every component (reverse start order) and frees the ports. Idempotent. */
  stop(): Promise<void>;
}

interface StateFile {
  readonly pids: readonly { name: string; pid: number }[];
  readonly server: string;
  readonly kubeconfigPath: string;
}

export function clusterDir(name: string): string {
  return join(stateDir(), 'clusters', name);
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const name = options.name ?? 'local';
  const dir = options.dir ?? clusterDir(name);
  const log = options.log ?? (() => undefined);
  await stopRecordedCluster(dir);
  await rm(dir, { recursive: true, force: true });
  const logsDir = join(dir, 'logs');
  await mkdir(logsDir, { recursive: true });
  const layout = await prepare(name, dir, options);

  const processes: ManagedProcess[] = [];
  const spawnComponent = (component: string, args: string[]): ManagedProcess => {
    const proc = startProcess({
      name: component,
      command: join(layout.bin, component),
      args,
      logFile: join(logsDir, `${component}.log`),
      detached: options.detached ?? false,
    });
    processes.push(proc);
    return proc;
  };
  const stop = memoize(async () => {
    // The real node first: its kubelet must not outlive the API server it reports to.
    await stopRecordedRealNode(dir, log);
    // Reverse start order; etcd last so the apiserver can shut down cleanly.
    for (const proc of [...processes].reverse()) await proc.stop();
    await rm(join(dir, 'state.json'), { force: true });
  });

  try {
    const nodeNames = await launch(layout, spawnComponent, options, log);
    await writeState(dir, {
      pids: processes.map((p) => ({ name: p.name, pid: p.pid })),
      server: serverOf(layout),
      kubeconfigPath: layout.kubeconfigs.admin,
    });
    log(`cluster ready: ${nodeNames.length} kwok nodes; kubeconfig ${layout.kubeconfigs.admin}`);
    const realNode: RealNodeStatus =
      options.realNode === true
        ? await startRealNodeIfSupported({
            clusterDir: dir,
            bin: layout.bin,
            server: serverOf(layout),
            ca: { cert: layout.pki.caCert, key: layout.pki.caKey },
            adminKubeconfig: layout.kubeconfigs.admin,
            detached: options.detached ?? false,
            log,
          })
        : { state: 'off', reason: 'not requested' };
    return {
      name,
      dir,
      server: serverOf(layout),
      ports: layout.ports,
      kubeconfigPath: layout.kubeconfigs.admin,
      caFile: layout.pki.caCert,
      logsDir,
      nodeNames,
      processes,
      realNode,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const serverOf = (l: Layout) => `https://127.0.0.1:${l.ports.apiserver}`;

/** Binaries, PKI, ports and kubeconfigs: everything decided before a process starts. */
async function prepare(name: string, dir: string, options: LocalClusterOptions): Promise<Layout> {
  const bin = await controlPlaneBinDir({ build: options.build ?? true });
  const pki = await createPki(join(dir, 'pki'));
  const [etcdClient = 0, etcdPeer = 0, apiserver = 0, controllerManager = 0, scheduler = 0, kwok = 0] =
    await freePorts(6);
  const ports: Ports = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok };
  const kubeconfigs = {
    admin: join(dir, 'kubeconfig.yaml'),
    controllerManager: join(dir, 'controller-manager.kubeconfig'),
    scheduler: join(dir, 'scheduler.kubeconfig'),
  };
  const base = { server: `https://127.0.0.1:${apiserver}`, caCert: pki.caCert, contextName: name };
  await Promise.all([
    writeKubeconfig(kubeconfigs.admin, { ...base, user: 'kjd-admin', identity: pki.admin }),
    writeKubeconfig(kubeconfigs.controllerManager, {
      ...base,
      user: 'system:kube-controller-manager',
      identity: pki.controllerManager,
    }),
    writeKubeconfig(kubeconfigs.scheduler, {
      ...base,
      user: 'system:kube-scheduler',
      identity: pki.scheduler,
    }),
  ]);
  return {
    bin,
    dir,
    pki,
    ports,
    kubeconfigs,
    stagesFile: await writeKwokConfig(dir),
    etcdUnsafeNoFsync: options.etcdUnsafeNoFsync ?? true,
    controllerManager: options.controllerManager ?? 'tuned',
  };
}

/** Starts the components in dependency order and returns the kwok Node names once all are usable. */
async function launch(
  l: Layout,
  spawnComponent: (component: string, args: string[]) => ManagedProcess,
  options: LocalClusterOptions,
  log: (m: string) => void,
): Promise<string[]> {
  const ca = await readFile(l.pki.caCert);
  const client = async (pair: { cert: string; key: string }) => ({
    ca,
    cert: await readFile(pair.cert),
    key: await readFile(pair.key),
  });
  const etcdTls = await client(l.pki.etcdClient);
  const adminTls = await client(l.pki.admin);
  const server = serverOf(l);

  log(`starting etcd on 127.0.0.1:${l.ports.etcdClient}`);
  const etcd = spawnComponent('etcd', etcdArgs(l));
  const etcdHealth = `https://127.0.0.1:${l.ports.etcdClient}/health`;
  await waitUntilReady(etcd, async () => (await httpsGet(etcdHealth, etcdTls)).status === 200, 30_000);
  log(`starting kube-apiserver on ${server}`);
  const api = spawnComponent('kube-apiserver', apiserverArgs(l));
  await waitUntilReady(
    api,
    async () => (await httpsGet(`${server}/readyz`, adminTls)).status === 200,
    90_000,
  );
  log('starting kube-controller-manager, kube-scheduler, kwok');
  const cm = spawnComponent('kube-controller-manager', controllerManagerArgs(l));
  const sched = spawnComponent('kube-scheduler', schedulerArgs(l));
  const kwok = spawnComponent('kwok', kwokArgs(l));

  const healthy = (port: number) => async () =>
    (await httpsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200;
  await Promise.all([
    waitUntilReady(cm, healthy(l.ports.controllerManager), 60_000),
    waitUntilReady(sched, healthy(l.ports.scheduler), 60_000),
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(l.kubeconfigs.admin);
  const core = kc.makeApiClient(CoreV1Api);
  const nodeNames = await createKwokNodes(core, options.nodes ?? 3);
  await waitForBootstrap(core, nodeNames, kwok, 90_000);
  return nodeNames;
}

/**
 * kwok's --config: our Stages plus a ClusterLogs that serves the same canned
 * container log for every Pod, so `pods/log` works end to end (apiserver ->
 * kwok's kubelet endpoint) without a container runtime.
 */
async function writeKwokConfig(dir: string): Promise<string> {
  const logFile = join(dir, 'pod.log');
  // CRI log format, which kwok's log endpoint parses: <RFC3339Nano> <stream> <F|P> <text>
  await writeFile(
    logFile,
    POD_LOG_LINES.map((l) => `2026-01-01T00:00:00.000000000Z stdout F ${l}\n`).join(''),
  );
  const stages = await readFile(join(import.meta.dirname, 'kwok-stages.yaml'), 'utf8');
  const clusterLogs = [
    '---',
    'apiVersion: kwok.x-k8s.io/v1alpha1',
    'kind: ClusterLogs',
    'metadata:',
    '  name: canned-logs',
    'spec:',
    '  logs:',
    `    - logsFile: ${logFile}`,
    '      follow: false',
    '',
  ].join('\n');
  const path = join(dir, 'kwok.yaml');
  await writeFile(path, `${stages}\n${clusterLogs}`);
  return path;
}

/** What every Pod's container log says on the local cluster. */
export const POD_LOG_LINES = ['kwok: container started', 'kwok: working', 'kwok: done'] as const;

async function writeState(dir: string, state: StateFile): Promise<void> {
  await writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2));
}

export interface RunningCluster {
  readonly dir: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly logsDir: string;
  readonly pki: { readonly caCert: string; readonly caKey: string };
}

/** A recorded cluster that can be reused, or why it cannot (and so is recreated). */
export type RecordedCluster =
  | { readonly healthy: true; readonly cluster: RunningCluster }
  | { readonly healthy: false; readonly reason: string };

/**
 * The cluster a previous `cluster:up` left running in `dir`: healthy when
 * every process it recorded is alive and the API server answers /readyz.
 * Otherwise the reason, which the caller prints before it recreates the
 * cluster (recreating wipes etcd, so a person should see why).
 */
export async function recordedCluster(dir: string): Promise<RecordedCluster> {
  let state: StateFile;
  try {
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch {
    return { healthy: false, reason: `no running cluster recorded in ${dir}` };
  }
  const dead = state.pids.filter(({ name, pid }) => !isProcessOf(pid, name));
  if (dead.length > 0) {
    const names = dead.map(({ name, pid }) => `${name} (pid ${pid})`).join(', ');
    return { healthy: false, reason: `the cluster in ${dir} lost ${names}` };
  }
  const pki = join(dir, 'pki');
  try {
    const tls = {
      ca: await readFile(join(pki, 'ca.crt')),
      cert: await readFile(join(pki, 'admin.crt')),
      key: await readFile(join(pki, 'admin.key')),
    };
    const { status } = await httpsGet(`${state.server}/readyz`, tls);
    if (status !== 200)
      return { healthy: false, reason: `the API server of ${dir} answers /readyz with ${status}` };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { healthy: false, reason: `the API server of ${dir} cannot be checked: ${why}` };
  }
  return {
    healthy: true,
    cluster: {
      dir,
      server: state.server,
      kubeconfigPath: state.kubeconfigPath,
      logsDir: join(dir, 'logs'),
      pki: { caCert: join(pki, 'ca.crt'), caKey: join(pki, 'ca.key') },
    },
  };
}

/** Stops the processes a previous (detached or crashed) run left behind in `dir`. */
export async function stopRecordedCluster(dir: string, log?: (m: string) => void): Promise<boolean> {
  const stoppedNode = await stopRecordedRealNode(dir, log);
  let state: StateFile;
  try {
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch {
    return stoppedNode;
  }
  for (const { name, pid } of [...state.pids].reverse()) {
    if (isProcessOf(pid, name)) await stopPid(pid, 10_000);
  }
  await rm(join(dir, 'state.json'), { force: true });
  return true;
}

function memoize<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}
