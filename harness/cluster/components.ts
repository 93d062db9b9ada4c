// Command lines of the control-plane components. Everything listens on
// 127.0.0.1 only, speaks TLS, and authenticates with certificates from pki.ts.
import { join } from 'node:path';
import type { ClusterPki } from './pki.ts';

export interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
}

export interface Layout {
  readonly bin: string;
  readonly dir: string;
  readonly pki: ClusterPki;
  readonly ports: Ports;
  readonly kubeconfigs: { admin: string; controllerManager: string; scheduler: string };
  readonly stagesFile: string;
  /** Skip etcd's fsync: a throwaway test cluster does not need durability. */
  readonly etcdUnsafeNoFsync: boolean;
  /** `tuned` (the harness's Job-heavy settings) or `upstream` (Kubernetes' own defaults). */
  readonly controllerManager: ControllerManagerTuning;
}

export type ControllerManagerTuning = 'tuned' | 'upstream';

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export function etcdArgs(l: Layout): string[] {
  const client = `https://127.0.0.1:${l.ports.etcdClient}`;
  const peer = `https://127.0.0.1:${l.ports.etcdPeer}`;
  const { cert, key } = l.pki.etcd;
  return [
    '--name=kjd',
    `--data-dir=${join(l.dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=kjd=${peer}`,
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    `--trusted-ca-file=${l.pki.caCert}`,
    '--client-cert-auth=true',
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
    `--peer-trusted-ca-file=${l.pki.caCert}`,
    '--peer-client-cert-auth=true',
    '--log-level=warn',
    ...(l.etcdUnsafeNoFsync ? ['--unsafe-no-fsync=true'] : []),
  ];
}

export function apiserverArgs(l: Layout): string[] {
  const p = l.pki;
  return [
    `--etcd-servers=https://127.0.0.1:${l.ports.etcdClient}`,
    `--etcd-cafile=${p.caCert}`,
    `--etcd-certfile=${p.etcdClient.cert}`,
    `--etcd-keyfile=${p.etcdClient.key}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${l.ports.apiserver}`,
    `--tls-cert-file=${p.apiserver.cert}`,
    `--tls-private-key-file=${p.apiserver.key}`,
    `--client-ca-file=${p.caCert}`,
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${p.serviceAccountPub}`,
    `--service-account-signing-key-file=${p.serviceAccountKey}`,
    '--authorization-mode=Node,RBAC',
    // The default plugin set plus the one kubeadm adds.
    '--enable-admission-plugins=NodeRestriction',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    `--kubelet-client-certificate=${p.kubeletClient.cert}`,
    `--kubelet-client-key=${p.kubeletClient.key}`,
    `--kubelet-certificate-authority=${p.caCert}`,
    '--kubelet-preferred-address-types=InternalIP',
    // The "kubernetes" Service cannot point at a loopback address.
    '--endpoint-reconciler-type=none',
    // Off, as hardened clusters run it; KJD_APISERVER_PROFILING=1 turns it on
    // for a bench's `--apiserver-profile` (its /debug/pprof needs it).
    `--profiling=${String(process.env.KJD_APISERVER_PROFILING === '1')}`,
  ];
}

function componentCommon(kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false',
  ];
}

export function controllerManagerArgs(l: Layout): string[] {
  return [
    ...componentCommon(l.kubeconfigs.controllerManager, l.ports.controllerManager),
    // Every controller kjd relies on (job, ttl-after-finished, garbage
    // collector, serviceaccount, serviceaccount-token, root-ca-cert-publisher)
    // is in the default set.
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--root-ca-file=${l.pki.caCert}`,
    `--service-account-private-key-file=${l.pki.serviceAccountKey}`,
    `--cluster-signing-cert-file=${l.pki.caCert}`,
    `--cluster-signing-key-file=${l.pki.caKey}`,
    '--profiling=false',
    // Jobs are what this cluster is for: sync them with more workers than the
    // default 5, and let the controllers talk faster than the default 20 QPS.
    // `upstream` keeps Kubernetes' defaults (the end-to-end benchmark runs both).
    ...(l.controllerManager === 'tuned'
      ? [
          '--concurrent-job-syncs=20',
          '--concurrent-gc-syncs=20',
          '--kube-api-qps=200',
          '--kube-api-burst=400',
        ]
      : []),
  ];
}

export function schedulerArgs(l: Layout): string[] {
  return componentCommon(l.kubeconfigs.scheduler, l.ports.scheduler);
}

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function kwokArgs(l: Layout): string[] {
  return [
    `--kubeconfig=${l.kubeconfigs.admin}`,
    `--config=${l.stagesFile}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    `--tls-cert-file=${l.pki.kwokServing.cert}`,
    `--tls-private-key-file=${l.pki.kwokServing.key}`,
    '--node-ip=127.0.0.1',
    `--node-port=${l.ports.kwok}`,
    `--server-address=127.0.0.1:${l.ports.kwok}`,
    '--node-lease-duration-seconds=40',
    '--cidr=10.244.0.0/16',
  ];
}
