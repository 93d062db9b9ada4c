// Test and benchmark namespaces are deleted when a run ends, often after the
// `kjd serve` that made their Jobs has been killed: nobody is left to remove
// kjd's result finalizer, and the namespace would stay Terminating. This
// removes it from every Job in the namespace, as an operator would after
// uninstalling kjd (docs/reliability.md shows the kubectl equivalent).
import { KubeClient } from '../src/kube/client.ts';
import { JobOperations } from '../src/kube/jobs.ts';
import { FINALIZER_RESULT } from '../src/kube/labels.ts';

export async function releaseKjdFinalizers(kubeconfig: string, namespace: string): Promise<number> {
  const client = KubeClient.connect({ kubeconfig, env: {}, namespace });
  try {
    const jobs = new JobOperations(client);
    let released = 0;
    for await (const job of jobs.listAll({ namespace })) {
      const finalizers = job.metadata?.finalizers ?? [];
      if (!finalizers.includes(FINALIZER_RESULT)) continue;
      await jobs.removeFinalizer(job.metadata?.name ?? '', namespace, FINALIZER_RESULT, finalizers);
      released++;
    }
    return released;
  } finally {
    await client.close();
  }
}
