// The local cluster's PKI, made with the openssl CLI (OpenSSL 3 can sign a
// leaf in one `req -x509 -CA` call). One CA signs every serving and client
// certificate; a separate key pair signs ServiceAccount tokens.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface ClusterPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** Serving cert of kube-apiserver (loopback + in-cluster Service names). */
  readonly apiserver: CertPair;
  /** etcd serving, peer and the apiserver's etcd client identity. */
  readonly etcd: CertPair;
  readonly etcdClient: CertPair;
  /** kube-apiserver -> kubelet (kwok) client identity. */
  readonly kubeletClient: CertPair;
  /** Serving cert of kwok's kubelet endpoint. */
  readonly kwokServing: CertPair;
  readonly admin: CertPair;
  readonly controllerManager: CertPair;
  readonly scheduler: CertPair;
  /** ServiceAccount token signing key pair. */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeCa(dir: string): Promise<CertPair> {
  const pair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await run('openssl', [
    'req', '-x509', ...curve, '-days', '3650', '-subj', '/CN=kjd-local-ca',
    '-keyout', pair.key, '-out', pair.cert,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]); // prettier-ignore
  return pair;
}

export interface LeafSpec {
  readonly file: string;
  readonly subject: string;
  readonly sans?: readonly string[];
  readonly usage: 'server' | 'client' | 'both';
}

export async function makeLeaf(dir: string, ca: CertPair, spec: LeafSpec): Promise<CertPair> {
  const pair = { cert: join(dir, `${spec.file}.crt`), key: join(dir, `${spec.file}.key`) };
  const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[spec.usage];
  const sanArgs = spec.sans === undefined ? [] : ['-addext', `subjectAltName=${spec.sans.join(',')}`];
  await run('openssl', [
    'req', '-x509', ...curve, '-days', '3650', '-subj', spec.subject,
    '-CA', ca.cert, '-CAkey', ca.key, '-keyout', pair.key, '-out', pair.cert,
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext', `extendedKeyUsage=${eku}`, ...sanArgs,
  ]); // prettier-ignore
  return pair;
}

const loopback = ['IP:127.0.0.1', 'DNS:localhost'];
const apiserverNames = [
  ...loopback,
  'IP:10.0.0.1',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

export async function createPki(dir: string): Promise<ClusterPki> {
  await mkdir(dir, { recursive: true });
  const ca = await makeCa(dir);
  const leaf = (spec: LeafSpec) => makeLeaf(dir, ca, spec);
  const sa = { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') };
  const [apiserver, etcd, etcdClient, kubeletClient, kwokServing, admin, controllerManager, scheduler] =
    await Promise.all([
      leaf({ file: 'apiserver', subject: '/CN=kube-apiserver', sans: apiserverNames, usage: 'server' }),
      leaf({ file: 'etcd', subject: '/CN=etcd', sans: loopback, usage: 'both' }),
      leaf({ file: 'etcd-client', subject: '/CN=kube-apiserver-etcd-client', usage: 'client' }),
      leaf({
        file: 'kubelet-client',
        subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
        usage: 'client',
      }),
      leaf({ file: 'kwok', subject: '/CN=kwok', sans: loopback, usage: 'server' }),
      leaf({ file: 'admin', subject: '/O=system:masters/CN=kjd-admin', usage: 'client' }),
      leaf({ file: 'controller-manager', subject: '/CN=system:kube-controller-manager', usage: 'client' }),
      leaf({ file: 'scheduler', subject: '/CN=system:kube-scheduler', usage: 'client' }),
      run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', sa.key]),
    ]);
  await run('openssl', ['pkey', '-in', sa.key, '-pubout', '-out', sa.pub]);
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    apiserver,
    etcd,
    etcdClient,
    kubeletClient,
    kwokServing,
    admin,
    controllerManager,
    scheduler,
    serviceAccountKey: sa.key,
    serviceAccountPub: sa.pub,
  };
}
