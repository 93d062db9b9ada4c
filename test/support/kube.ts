// Small helpers for tests that talk to the real test control plane.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { releaseKjdFinalizers } from '../../harness/finalizers.ts';
import { KubeNotFoundError } from '../../src/kube/errors.ts';
import { testEnv } from './env.ts';

/**
 * A fresh namespace for the enclosing describe(): created before its tests,
 * deleted (without waiting) after them. Call it synchronously inside describe().
 */
export function useNamespace(prefix: string): { readonly name: string } {
  const ns = { name: `${prefix}-${randomBytes(3).toString('hex')}` };
  before(async () => {
    await testEnv()
      .admin.makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: ns.name } } });
  });
  after(async () => {
    // Jobs of a killed `kjd serve` keep kjd's result finalizer: release them, or the namespace never goes.
    await releaseKjdFinalizers(testEnv().kubeconfigPath, ns.name).catch(() => undefined);
    await testEnv()
      .admin.makeApiClient(CoreV1Api)
      .deleteNamespace({ name: ns.name })
      .catch(() => undefined);
  });
  return ns;
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0] ?? ''})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** A ServiceAccount token from the TokenRequest API, as a kubelet would mount it. */
export async function serviceAccountToken(
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<string> {
  const core = testEnv().admin.makeApiClient(CoreV1Api);
  const req = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { expirationSeconds, audiences: [] } },
  });
  const token = req.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** A KubeConfig that authenticates with a bearer token only (no client cert). */
export function kubeConfigForToken(token: string, namespace: string): KubeConfig {
  const env = testEnv();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: env.server, caData: env.caData, skipTLSVerify: false }],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: 'test', user: 'sa', namespace }],
    currentContext: 'sa',
  });
  return kc;
}

/** Status code of a rejected API call, or undefined when it is not an API error. */
export function apiStatus(err: unknown): { code: number; reason?: string; message?: string } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const code = (err as ApiException<unknown>).code;
  const body: unknown = (err as ApiException<unknown>).body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string };
      return { code, ...status };
    } catch {
      return { code };
    }
  }
  return { code };
}

/** True when `read` fails with 404 (from client-node's ApiException or kjd's KubeNotFoundError). */
export async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (apiStatus(err)?.code === 404 || err instanceof KubeNotFoundError) return true;
    throw err;
  }
}

/** Seed 001's Role rules, verbatim. */
export const SEED_001_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['batch', 'extensions'],
    resources: ['jobs'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
];

/** A Role with `rules` and a RoleBinding of it to the ServiceAccount, both named `name`. */
export async function grantRole(
  namespace: string,
  serviceAccount: string,
  rules: V1PolicyRule[],
  name = serviceAccount,
): Promise<void> {
  const rbac = testEnv().admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      roleRef: { kind: 'Role', name, apiGroup: 'rbac.authorization.k8s.io' },
    },
  });
}
