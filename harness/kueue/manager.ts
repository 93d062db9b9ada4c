// Kueue's manager (cmd/kueue of sigs.k8s.io/kueue) as a local process against a
// cluster, with the admin kubeconfig, as the Deployment of Kueue's manifests
// would run it in-cluster, and with its admission webhooks served under a
// certificate the harness makes:
//
// - The API server cannot reach a Service here (no kube-proxy), so the
//   webhook configurations name https://127.0.0.1:<port>/<path> with the
//   harness's CA as caBundle, instead of Kueue's webhook-service.
// - Only the webhooks for batch/v1 Jobs and Kueue's own kinds are installed
//   (the frameworks enabled here). The Job webhooks select Jobs with a
//   queue-name label in namespaces labelled for this instance
//   (`namespaceLabel`), so other Jobs on the shared test cluster never depend
//   on this process being up. Configurations left by a process that died are
//   removed at the next start.
// - internalCertManagement is off, so Kueue reads the metrics server's
//   certificate from the fixed path /etc/kueue/metrics/certs (hard-coded in
//   cmd/kueue/main.go); the harness writes one there when none exists.
// - VisibilityOnDemand is off: its aggregated API needs a Service too.
import { access, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  loadAllYaml,
  type KubeConfig,
  type V1MutatingWebhook,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhook,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { makeCa, makeLeaf, type CertPair } from '../cluster/pki.ts';
import { installCrds } from '../crds.ts';
import { freePorts } from '../net.ts';
import { isAlive, startProcess, waitUntilReady, type ManagedProcess } from '../process.ts';
import type { KueueArtifacts } from './artifacts.ts';

export const KUEUE_NAMESPACE = 'kueue-system';
/** Kueue's label on a Job naming its LocalQueue. */
export const QUEUE_NAME_LABEL = 'kueue.x-k8s.io/queue-name';
const METRICS_CERT_DIR = '/etc/kueue/metrics/certs';

export interface KueueOptions {
  readonly artifacts: KueueArtifacts;
  readonly kubeconfigPath: string;
  readonly admin: KubeConfig;
  /** Log file, configuration, certificates. */
  readonly dir: string;
  readonly readyTimeoutMs?: number;
}

export interface KueueManager {
  readonly process: ManagedProcess;
  /** Label a namespace with this for Kueue's Job webhooks to act in it. */
  readonly namespaceLabel: { readonly key: string; readonly value: string };
  /** http://127.0.0.1:<port> serving /healthz and /readyz. */
  readonly probeUrl: string;
  /** Stops the process and removes the webhook configurations it served. */
  stop(): Promise<void>;
}

export async function startKueue(o: KueueOptions): Promise<KueueManager> {
  await mkdir(o.dir, { recursive: true });
  await installCrds(o.admin, o.artifacts.crdDir, 60_000);
  await ensureNamespace(o.admin, KUEUE_NAMESPACE);
  const certDir = join(o.dir, 'certs');
  await mkdir(certDir, { recursive: true });
  const ca = await makeCa(certDir);
  const serving = await makeLeaf(certDir, ca, {
    file: 'serving',
    subject: '/CN=kueue-webhook',
    sans: ['IP:127.0.0.1', 'DNS:localhost'],
    usage: 'server',
  });
  // controller-runtime's webhook server reads tls.crt and tls.key from certDir.
  const webhookCertDir = join(o.dir, 'webhook-certs');
  await mkdir(webhookCertDir, { recursive: true });
  await cp(serving.cert, join(webhookCertDir, 'tls.crt'));
  await cp(serving.key, join(webhookCertDir, 'tls.key'));
  const createdMetricsCert = await ensureMetricsCert(serving);

  const [probePort, metricsPort, webhookPort] = await freePorts(3);
  const configFile = join(o.dir, 'kueue-config.yaml');
  await writeFile(
    configFile,
    stringify(managerConfig(probePort ?? 0, metricsPort ?? 0, webhookPort ?? 0, webhookCertDir)),
  );
  const suffix = `kjd-${String(process.pid)}-${String(webhookPort ?? 0)}`;
  const namespaceLabel = { key: 'kjd.dev/kueue', value: suffix };
  await removeOrphanedWebhooks(o.admin);
  const webhooks = await installWebhooks(o.admin, o.artifacts.webhookManifests, {
    baseUrl: `https://127.0.0.1:${String(webhookPort ?? 0)}`,
    caBundle: Buffer.from(await readFile(ca.cert)).toString('base64'),
    suffix,
    namespaceLabel,
  });

  const proc = startProcess({
    name: 'kueue',
    command: o.artifacts.manager,
    args: [`--config=${configFile}`, '--zap-log-level=info'],
    logFile: join(o.dir, 'kueue.log'),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      KUBECONFIG: o.kubeconfigPath,
    },
  });
  const probeUrl = `http://127.0.0.1:${String(probePort ?? 0)}`;
  const stop = async (): Promise<void> => {
    await webhooks.remove().catch(() => undefined);
    await proc.stop(10_000);
    // Only what this process created: the topmost folder it made, or else the two files.
    for (const path of createdMetricsCert ?? []) await rm(path, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(
      proc,
      async () => (await fetch(`${probeUrl}/readyz`)).ok,
      o.readyTimeoutMs ?? 90_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { process: proc, namespaceLabel, probeUrl, stop };
}

function managerConfig(probePort: number, metricsPort: number, webhookPort: number, certDir: string) {
  return {
    apiVersion: 'config.kueue.x-k8s.io/v1beta2',
    kind: 'Configuration',
    namespace: KUEUE_NAMESPACE,
    health: { healthProbeBindAddress: `127.0.0.1:${String(probePort)}` },
    metrics: { bindAddress: `127.0.0.1:${String(metricsPort)}` },
    webhook: { port: webhookPort, host: '127.0.0.1', certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
    // Kueue's own defaults for its client; its controllers are not the subject here.
    clientConnection: { qps: 50, burst: 100 },
    integrations: { frameworks: ['batch/job'] },
    featureGates: { VisibilityOnDemand: false },
  };
}

async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof ApiException) || err.code !== 409) throw err;
  }
}

/**
 * Writes a metrics certificate where Kueue insists on finding one. Returns
 * what to remove at stop (the topmost folder this call made, or the files),
 * or undefined when a certificate was already there.
 */
async function ensureMetricsCert(pair: CertPair): Promise<string[] | undefined> {
  try {
    await access(join(METRICS_CERT_DIR, 'tls.crt'));
    return undefined;
  } catch {
    const made = await mkdir(METRICS_CERT_DIR, { recursive: true });
    const cert = join(METRICS_CERT_DIR, 'tls.crt');
    const key = join(METRICS_CERT_DIR, 'tls.key');
    await cp(pair.cert, cert);
    await cp(pair.key, key);
    return made === undefined ? [cert, key] : [made];
  }
}

/** The webhooks served for the frameworks enabled here: batch/v1 Jobs and Kueue's own kinds. */
const SERVED_PATH = /^\/(mutate|validate)-(batch-v1-job|kueue-x-k8s-io-.+)$/;

interface WebhookTarget {
  readonly baseUrl: string;
  readonly caBundle: string;
  readonly suffix: string;
  readonly namespaceLabel: { readonly key: string; readonly value: string };
}

type AnyWebhook = V1MutatingWebhook | V1ValidatingWebhook;

const HARNESS_LABEL = 'kjd.dev/kueue-harness';
const PID_ANNOTATION = 'kjd.dev/kueue-pid';

/** Deletes webhook configurations whose harness process is gone: with failurePolicy Fail they would refuse Kueue's kinds. */
async function removeOrphanedWebhooks(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const labelSelector = `${HARNESS_LABEL}=true`;
  const orphaned = (m: { metadata?: { annotations?: Record<string, string> } }) => {
    const pid = Number(m.metadata?.annotations?.[PID_ANNOTATION] ?? 0);
    return !(pid > 0 && isAlive(pid));
  };
  for (const c of (await api.listMutatingWebhookConfiguration({ labelSelector })).items.filter(orphaned)) {
    await api.deleteMutatingWebhookConfiguration({ name: c.metadata?.name ?? '' }).catch(() => undefined);
  }
  for (const c of (await api.listValidatingWebhookConfiguration({ labelSelector })).items.filter(orphaned)) {
    await api.deleteValidatingWebhookConfiguration({ name: c.metadata?.name ?? '' }).catch(() => undefined);
  }
}

function retarget<W extends AnyWebhook>(hooks: readonly W[] | undefined, t: WebhookTarget): W[] {
  const out: W[] = [];
  // The hooks are fresh from loadAllYaml, so they are changed in place.
  for (const hook of hooks ?? []) {
    const path = hook.clientConfig.service?.path ?? '';
    if (!SERVED_PATH.test(path)) continue;
    hook.clientConfig = { url: `${t.baseUrl}${path}`, caBundle: t.caBundle };
    if (path.endsWith('-batch-v1-job')) {
      // Other Jobs never wait on this process (see the header).
      hook.objectSelector = { matchExpressions: [{ key: QUEUE_NAME_LABEL, operator: 'Exists' }] };
      hook.namespaceSelector = { matchLabels: { [t.namespaceLabel.key]: t.namespaceLabel.value } };
    }
    out.push(hook);
  }
  return out;
}

async function installWebhooks(kc: KubeConfig, manifests: string, t: WebhookTarget) {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const docs = loadAllYaml(await readFile(manifests, 'utf8')) as (
    V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration | null
  )[];
  const name = `kueue-${t.suffix}`;
  const metadata = {
    name,
    labels: { [HARNESS_LABEL]: 'true' },
    annotations: { [PID_ANNOTATION]: String(process.pid) },
  };
  const mutating = docs.find(
    (d) => d?.kind === 'MutatingWebhookConfiguration',
  ) as V1MutatingWebhookConfiguration;
  const validating = docs.find(
    (d) => d?.kind === 'ValidatingWebhookConfiguration',
  ) as V1ValidatingWebhookConfiguration;
  await api.createMutatingWebhookConfiguration({
    body: { metadata, webhooks: retarget(mutating.webhooks, t) },
  });
  await api.createValidatingWebhookConfiguration({
    body: { metadata, webhooks: retarget(validating.webhooks, t) },
  });
  return {
    async remove(): Promise<void> {
      await api.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
      await api.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
      // Give the API server's webhook informer a moment to drop them.
      await sleep(200);
    },
  };
}
