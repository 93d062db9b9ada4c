// The KEDA operator (cmd/operator of github.com/kedacore/keda/v2) as a local
// process against a cluster, with the admin kubeconfig, as the Deployment of
// KEDA's chart would run it in-cluster: no leader election, watching one
// namespace, and with the mTLS certificates its gRPC metrics service refuses
// to start without (ca.crt, tls.crt, tls.key in --cert-dir).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCa, makeLeaf } from '../cluster/pki.ts';
import { freePorts } from '../net.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from '../process.ts';

export interface KedaOperatorOptions {
  /** Path of the keda-operator binary (see artifacts.ts). */
  readonly binary: string;
  readonly kubeconfigPath: string;
  /** Namespace(s) the operator watches, comma-separated; '' watches all. */
  readonly watchNamespace: string;
  /** Where ClusterTriggerAuthentication secrets live (KEDA_CLUSTER_OBJECT_NAMESPACE). */
  readonly objectNamespace: string;
  /** Log file, certificates. */
  readonly dir: string;
  /** Extra environment, e.g. KEDA_SCALEDJOB_CTRL_MAX_RECONCILES. */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface KedaOperator {
  readonly process: ManagedProcess;
  /** http://127.0.0.1:<port>/metrics (Prometheus). */
  readonly metricsUrl: string;
  /** http://127.0.0.1:<port> serving /healthz and /readyz. */
  readonly probeUrl: string;
  stop(): Promise<void>;
}

async function metricsServiceCerts(dir: string): Promise<string> {
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  const ca = await makeCa(certDir);
  await makeLeaf(certDir, ca, {
    file: 'tls',
    subject: '/CN=keda-operator',
    sans: ['IP:127.0.0.1', 'DNS:localhost'],
    usage: 'both',
  });
  return certDir;
}

export async function startKedaOperator(o: KedaOperatorOptions): Promise<KedaOperator> {
  await mkdir(o.dir, { recursive: true });
  const certDir = await metricsServiceCerts(o.dir);
  const [metricsPort, probePort, grpcPort] = await freePorts(3);
  const probeUrl = `http://127.0.0.1:${probePort ?? 0}`;
  const proc = startProcess({
    name: 'keda-operator',
    command: o.binary,
    args: [
      '--leader-elect=false',
      `--metrics-bind-address=127.0.0.1:${metricsPort ?? 0}`,
      `--health-probe-bind-address=127.0.0.1:${probePort ?? 0}`,
      `--metrics-service-bind-address=127.0.0.1:${grpcPort ?? 0}`,
      `--cert-dir=${certDir}`,
      `--ca-dir=${join(o.dir, 'no-custom-ca')}`,
      '--zap-log-level=info',
    ],
    logFile: join(o.dir, 'keda-operator.log'),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      KUBECONFIG: o.kubeconfigPath,
      WATCH_NAMESPACE: o.watchNamespace,
      POD_NAMESPACE: o.objectNamespace,
      KEDA_CLUSTER_OBJECT_NAMESPACE: o.objectNamespace,
      ...o.env,
    },
  });
  try {
    await waitUntilReady(
      proc,
      async () => (await fetch(`${probeUrl}/readyz`)).ok,
      o.readyTimeoutMs ?? 60_000,
    );
  } catch (err) {
    await proc.stop(5_000);
    throw err;
  }
  return {
    process: proc,
    metricsUrl: `http://127.0.0.1:${metricsPort ?? 0}/metrics`,
    probeUrl,
    stop: () => proc.stop(10_000),
  };
}
