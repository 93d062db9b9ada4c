// After the components start: register the kwok Nodes and wait until the
// cluster can really run a Job (Nodes Ready, the controllers that create
// ServiceAccounts and publish the root CA have done their first pass).
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { logTail, ProcessExitedError, type ManagedProcess } from '../process.ts';
import { KWOK_NODE_ANNOTATION } from './components.ts';

export async function createKwokNodes(core: CoreV1Api, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  await Promise.all(
    names.map((name) => {
      const body: V1Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
          },
        },
      };
      return core.createNode({ body });
    }),
  );
  return names;
}

export async function waitForBootstrap(
  core: CoreV1Api,
  nodeNames: readonly string[],
  kwok: ManagedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(['nodes-ready', 'default-serviceaccount', 'kube-root-ca.crt']);
  while (pending.size > 0) {
    if (!kwok.isRunning()) throw new ProcessExitedError('kwok', await kwok.exited, logTail(kwok.logFile));
    if (Date.now() > deadline)
      throw new Error(`cluster bootstrap timed out waiting for: ${[...pending].join(', ')}`);
    if (pending.has('nodes-ready') && (await nodesReady(core, nodeNames))) pending.delete('nodes-ready');
    if (
      pending.has('default-serviceaccount') &&
      (await exists(() => core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })))
    )
      pending.delete('default-serviceaccount');
    if (
      pending.has('kube-root-ca.crt') &&
      (await exists(() => core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: 'default' })))
    )
      pending.delete('kube-root-ca.crt');
    if (pending.size > 0) await sleep(200);
  }
}

async function nodesReady(core: CoreV1Api, names: readonly string[]): Promise<boolean> {
  const list = await core.listNode();
  const ready = list.items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  return names.every((name) => ready.some((n) => n.metadata?.name === name));
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch {
    return false;
  }
}
