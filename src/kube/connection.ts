// Where the API server is and how to authenticate: from a kubeconfig
// (--kubeconfig, KUBECONFIG, ~/.kube/config) or from inside a Pod (the
// mounted ServiceAccount token, CA and namespace plus KUBERNETES_SERVICE_*).
// Never a silent fallback to http://localhost:8080: when nothing is found,
// one error lists every place that was looked at.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Cluster, KubeConfig, User } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';
import {
  KubeConfigCredentials,
  noCredentials,
  staticToken,
  TokenFileCredentials,
  type Credentials,
} from './credentials.ts';

export const DEFAULT_SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ConnectOptions {
  /** Path to a kubeconfig file (`--kubeconfig`). */
  readonly kubeconfig?: string;
  /** Context name within the kubeconfig (`--context`). */
  readonly context?: string;
  /** Namespace override (`-n`). Default: the context's, the Pod's, or `default`. */
  readonly namespace?: string;
  /** `auto` (default): a kubeconfig when one is found, else in-cluster. */
  readonly mode?: 'auto' | 'kubeconfig' | 'in-cluster';
  /** Default /var/run/secrets/kubernetes.io/serviceaccount (tests point it at a temp dir). */
  readonly serviceAccountDir?: string;
  /** The environment to read KUBECONFIG, HOME, KUBERNETES_SERVICE_* from. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export interface Connection {
  /** e.g. https://10.0.0.1:443 */
  readonly server: string;
  readonly namespace: string;
  readonly tls: TlsMaterial;
  readonly credentials: Credentials;
  /** Human-readable origin, e.g. `kubeconfig /root/.kube/config (context kind-kjd)`. */
  readonly source: string;
}

export class ConnectionConfigError extends KjdError {
  readonly code = 'KUBE_NO_CONFIG';
  readonly category: ErrorCategory = 'configuration';
}

export function resolveConnection(options: ConnectOptions = {}): Connection {
  const env = options.env ?? {};
  const mode = options.mode ?? 'auto';
  const saDir = options.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR;
  const looked: string[] = [];
  if (mode !== 'in-cluster') {
    const files = kubeconfigFiles(options, env, looked);
    if (files.length > 0) return fromKubeconfig(files, options);
    if (mode === 'kubeconfig') throw noConfig(looked);
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenPath = join(saDir, 'token');
  looked.push(
    `in-cluster: KUBERNETES_SERVICE_HOST/PORT (${host ?? 'unset'}/${port ?? 'unset'}) and ${tokenPath}`,
  );
  if (host !== undefined && host !== '' && port !== undefined && existsSync(tokenPath)) {
    return inCluster(host, port, saDir, options.namespace);
  }
  throw noConfig(looked);
}

function noConfig(looked: readonly string[]): ConnectionConfigError {
  return new ConnectionConfigError(
    `no Kubernetes configuration found. Looked for:\n${looked.map((l) => `  - ${l}`).join('\n')}\n` +
      'Pass --kubeconfig, set KUBECONFIG, or run inside a Pod with a ServiceAccount token mounted.',
  );
}

function kubeconfigFiles(
  options: ConnectOptions,
  env: ConnectOptions['env'] & object,
  looked: string[],
): string[] {
  if (options.kubeconfig !== undefined) {
    looked.push(`--kubeconfig ${options.kubeconfig}`);
    if (!existsSync(options.kubeconfig))
      throw new ConnectionConfigError(`kubeconfig ${options.kubeconfig} does not exist`);
    return [options.kubeconfig];
  }
  const fromEnv = (env.KUBECONFIG ?? '').split(':').filter(Boolean);
  if (fromEnv.length > 0) {
    looked.push(`KUBECONFIG=${env.KUBECONFIG ?? ''}`);
    const present = fromEnv.filter((f) => existsSync(f));
    if (present.length > 0) return present;
  }
  const home = env.HOME;
  if (home !== undefined) {
    const file = join(home, '.kube', 'config');
    looked.push(file);
    if (existsSync(file)) return [file];
  }
  return [];
}

/**
 * client-node's kubeconfig reader (merging, exec plugins, auth providers) is
 * loaded only when a kubeconfig is used: importing the package loads every
 * generated model, which in a Pod (in-cluster) would cost start-up time and
 * memory for nothing.
 */
function kubeConfigClass(): typeof KubeConfig {
  const load = createRequire(import.meta.url);
  return (load('@kubernetes/client-node') as { KubeConfig: typeof KubeConfig }).KubeConfig;
}

function fromKubeconfig(files: readonly string[], options: ConnectOptions): Connection {
  const KubeConfig = kubeConfigClass();
  const kc = new KubeConfig();
  try {
    files.forEach((file, i) => {
      if (i === 0) kc.loadFromFile(file);
      else {
        const next = new KubeConfig();
        next.loadFromFile(file);
        kc.mergeConfig(next, true);
      }
    });
  } catch (err) {
    throw new ConnectionConfigError(
      `cannot read kubeconfig ${files.join(':')}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (options.context !== undefined) {
    if (kc.getContextObject(options.context) === null) {
      const known =
        kc
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none';
      throw new ConnectionConfigError(
        `context "${options.context}" is not in ${files.join(':')} (contexts: ${known})`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const contextName = kc.getCurrentContext();
  const context = kc.getContextObject(contextName);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const source = `kubeconfig ${files.join(':')} (context ${contextName})`;
  if (context === null || cluster === null || user === null) {
    throw new ConnectionConfigError(`${source}: the current context needs a cluster and a user`);
  }
  return {
    server: cluster.server,
    namespace: options.namespace ?? context.namespace ?? 'default',
    tls: clusterTls(cluster, user),
    credentials: userCredentials(kc, user, source),
    source,
  };
}

const text = (data: string | undefined, file: string | undefined): string | undefined =>
  data !== undefined
    ? Buffer.from(data, 'base64').toString('utf8')
    : file !== undefined
      ? readFileSync(file, 'utf8')
      : undefined;

function clusterTls(cluster: Cluster, user: User): TlsMaterial {
  const ca = text(cluster.caData, cluster.caFile);
  const cert = text(user.certData, user.certFile);
  const key = text(user.keyData, user.keyFile);
  return {
    rejectUnauthorized: !cluster.skipTLSVerify,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(cluster.tlsServerName !== undefined ? { servername: cluster.tlsServerName } : {}),
  };
}

function userCredentials(kc: KubeConfig, user: User, source: string): Credentials {
  const who = `user "${user.name}" of ${source}`;
  if (user.exec !== undefined || user.authProvider !== undefined)
    return new KubeConfigCredentials(kc, `${who} (exec/auth-provider)`);
  if (user.token !== undefined && user.token !== '') return staticToken(user.token, `bearer token of ${who}`);
  if (user.certData !== undefined || user.certFile !== undefined)
    return noCredentials(`client certificate of ${who}`);
  return noCredentials(`${who} (no credentials: anonymous)`);
}

function inCluster(host: string, port: string, saDir: string, namespace: string | undefined): Connection {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const nsFile = join(saDir, 'namespace');
  const caFile = join(saDir, 'ca.crt');
  return {
    server: `https://${bracketed}:${port}`,
    namespace: namespace ?? (existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : 'default'),
    tls: { rejectUnauthorized: true, ...(existsSync(caFile) ? { ca: readFileSync(caFile, 'utf8') } : {}) },
    credentials: new TokenFileCredentials(join(saDir, 'token')),
    source: `in-cluster ServiceAccount (${saDir})`,
  };
}
