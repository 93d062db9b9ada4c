// Emulates what the kubelet gives a Pod: a ServiceAccount token, the cluster
// CA and the namespace under a serviceaccount/ folder, plus
// KUBERNETES_SERVICE_HOST/PORT pointing at the (loopback) API server.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { testEnv } from './env.ts';

export interface EmulatedPod {
  readonly serviceAccountDir: string;
  remove(): Promise<void>;
  readonly env: Record<string, string>;
  /** Atomically replaces the token file, as the kubelet does when it rotates it. */
  writeToken(token: string): Promise<void>;
}

export async function emulatePod(namespace: string, token: string): Promise<EmulatedPod> {
  const dir = await mkdtemp(join(tmpdir(), 'kjd-pod-'));
  const server = new URL(testEnv().server);
  await writeFile(join(dir, 'ca.crt'), Buffer.from(testEnv().caData, 'base64'));
  await writeFile(join(dir, 'namespace'), namespace);
  const writeToken = async (t: string) => {
    const tmp = join(dir, `.token-${process.hrtime.bigint()}`);
    await writeFile(tmp, t);
    await rename(tmp, join(dir, 'token'));
  };
  await writeToken(token);
  return {
    serviceAccountDir: dir,
    remove: () => rm(dir, { recursive: true, force: true }),
    env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
    writeToken,
  };
}

/** A TokenRequest token bound to a Secret: deleting the Secret revokes the token at once. */
export async function revocableToken(
  namespace: string,
  serviceAccount: string,
  secretName: string,
): Promise<string> {
  const core = testEnv().admin.makeApiClient(CoreV1Api);
  const secret = await core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName } } });
  const req = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 3600,
        boundObjectRef: {
          apiVersion: 'v1',
          kind: 'Secret',
          name: secretName,
          uid: secret.metadata?.uid ?? '',
        },
      },
    },
  });
  const token = req.status?.token;
  if (token === undefined) throw new Error('TokenRequest returned no token');
  return token;
}
