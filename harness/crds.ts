// Installs CRDs (KEDA's config/crd/bases, Kueue's config/components/crd/bases)
// into a cluster, and waits until the API server serves them.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  ApiextensionsV1Api,
  loadAllYaml,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';

export async function readCrds(crdDir: string): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    // loadAllYaml deserializes into the typed model. A plain YAML parse would
    // lose wire names such as x-kubernetes-int-or-string when the typed API
    // serializes the body (the API server then rejects the schema).
    for (const obj of loadAllYaml(
      await readFile(join(crdDir, file), 'utf8'),
    ) as (V1CustomResourceDefinition | null)[]) {
      if (obj?.kind === 'CustomResourceDefinition') crds.push(obj);
    }
  }
  return crds;
}

/** Creates each CRD, or replaces it when it exists; then waits for Established. */
export async function installCrds(kc: KubeConfig, crdDir: string, timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = await readCrds(crdDir);
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition in ${crdDir}`);
  const names: string[] = [];
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    names.push(name);
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!(err instanceof ApiException) || err.code !== 409) throw err;
      const current = await api.readCustomResourceDefinition({ name });
      const resourceVersion = current.metadata?.resourceVersion;
      if (resourceVersion !== undefined) (crd.metadata ??= {}).resourceVersion = resourceVersion;
      await api.replaceCustomResourceDefinition({ name, body: crd });
    }
  }
  await waitEstablished(api, names, timeoutMs);
  return names;
}

async function waitEstablished(api: ApiextensionsV1Api, names: readonly string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const crd = await api.readCustomResourceDefinition({ name });
      const ok = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      if (ok === true) pending.delete(name);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`CRDs not Established: ${[...pending].join(', ')}`);
    await sleep(200);
  }
}
