// What both contenders of the KEDA head-to-head (bench/keda.ts) run on: the
// real node, and one Pod template for both.
import type { BenchEnvironment } from './environment.ts';

export async function requireRealNode(env: BenchEnvironment): Promise<void> {
  const nodes = await env.admin.call<{
    items: {
      metadata: { labels?: Record<string, string> };
      status?: { conditions?: { type: string; status: string }[] };
    }[];
  }>('GET', '/api/v1/nodes', { query: { labelSelector: 'kjd.dev/real-node=true' } });
  const ready = nodes.items.some((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  if (!ready)
    throw new Error(
      'the KEDA head-to-head needs the real node (workers must really pop items): run `npm run cluster:up` as root on a host that can run it (docs/real-node.md)',
    );
}

/** The Pod both contenders run: the same worker, image, node and CPU request; only the arguments differ. */
export function podTemplate(worker: string, args: readonly string[]): Record<string, unknown> {
  return {
    spec: {
      restartPolicy: 'Never',
      hostNetwork: true, // Redis is on the host's loopback (docs/real-node.md)
      terminationGracePeriodSeconds: 1,
      nodeSelector: { 'kjd.dev/real-node': 'true' },
      tolerations: [{ key: 'kjd.dev/real-node', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
      containers: [
        {
          name: 'worker',
          image: 'localhost/kjd-worker:local',
          imagePullPolicy: 'Never',
          command: ['/qw/queue-worker', ...args],
          env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          resources: { requests: { cpu: '600m' } },
          volumeMounts: [{ name: 'qw', mountPath: '/qw/queue-worker', readOnly: true }],
        },
      ],
      volumes: [{ name: 'qw', hostPath: { path: worker, type: 'File' } }],
    },
  };
}
