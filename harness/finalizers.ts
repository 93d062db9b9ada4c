// Test and benchmark namespaces are deleted when a run ends, often after the
// `kjd serve` that made their Jobs has been killed: nobody is left to remove
// kjd's result finalizer, and the namespace would stay Terminating. This
// removes it from every Job in the namespace, as an operator would after
// uninstalling kjd (docs/reliability.md shows the kubectl equivalent).
import { KubeClient } from '../src/kube/client.ts';
import { JobOperations } from '../src/kube/jobs.ts';
import { FINALIZER_RESULT } from '../src/kube/labels.ts';
import { BoundedQueue } from '../src/tracking/bounded-queue.ts';

export async function releaseKjdFinalizers(kubeconfig: string, namespace: string): Promise<number> {
  const client = KubeClient.connect({
    kubeconfig,
    env: {},
    namespace,
    transport: { rateLimit: { qps: 500, burst: 500 } },
  });
  try {
    const jobs = new JobOperations(client);
    // Thousands of Jobs (the fuzz test's) are released 32 at a time, not one by one.
    const queue = new BoundedQueue(32);
    let released = 0;
    for await (const job of jobs.listAll({ namespace })) {
      const finalizers = job.metadata?.finalizers ?? [];
      if (!finalizers.includes(FINALIZER_RESULT)) continue;
      queue.push(async () => {
        await jobs.removeFinalizer(job.metadata?.name ?? '', namespace, FINALIZER_RESULT, finalizers);
        released++;
      });
    }
    await queue.idle();
    return released;
  } finally {
    await client.close();
  }
}
