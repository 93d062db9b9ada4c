// requests/s of kjd's shared pool vs @kubernetes/client-node's default
// transport (a new TLS connection per request), on the real API server.
//   node bench/transport.ts [--kubeconfig PATH] [--requests N] [--concurrency C]
// Both clients read the same Job; runs alternate so machine noise hits both.
import { parseArgs } from 'node:util';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.ts';
import { JobOperations } from '../src/kube/jobs.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG ?? '.kjd/clusters/local/kubeconfig.yaml' },
    requests: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
});
const n = Number(values.requests);
const concurrency = Number(values.concurrency);

const kc = new KubeConfig();
kc.loadFromFile(values.kubeconfig);
const plain = kc.makeApiClient(BatchV1Api);
const kjd = KubeClient.connect({
  kubeconfig: values.kubeconfig,
  transport: { rateLimit: { qps: 1e6, burst: 1e6 } },
});
const kjdJobs = new JobOperations(kjd);
const namespace = `bench-transport-${Date.now()}`;
await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
await plain.createNamespacedJob({
  namespace,
  body: {
    metadata: { name: 'probe' },
    spec: {
      suspend: true,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } },
    },
  },
});

async function run(read: () => Promise<unknown>, parallel: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < n) await read();
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

const results: Record<string, number[]> = {};
const record = (k: string, v: number) => (results[k] ??= []).push(Math.round(v));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const parallel of [1, concurrency]) {
    record(
      `client-node default, ${parallel} in flight`,
      await run(() => plain.readNamespacedJob({ name: 'probe', namespace }), parallel),
    );
    record(
      `kjd shared pool, ${parallel} in flight`,
      await run(() => kjdJobs.get('probe', namespace), parallel),
    );
  }
}
await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
await kjd.close();
for (const [k, v] of Object.entries(results)) {
  const sorted = [...v].sort((a, b) => a - b);
  console.log(
    `${k.padEnd(36)} median ${sorted[Math.floor(sorted.length / 2)]} req/s  (runs: ${v.join(', ')})`,
  );
}
