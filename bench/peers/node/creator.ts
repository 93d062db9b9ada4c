// The floor under kjd (`kjdFloor` in bench/run.ts): kjd's own template
// renderer and Kubernetes transport, and nothing else. It renders each item
// into the very Job `kjd serve` makes for it (same name, labels, annotations
// and variables) and POSTs it on kjd's connection pool, 128 at a time, with no
// rate limit: no Redis, no ack or in-flight record, no watch of its Jobs, no
// pacing. kjd's gap to this floor is what its queue, its exactly-once
// bookkeeping and its tracking cost; this floor's gap to the Go ceiling is
// what Node and JSON cost. Same protocol as the Go peers: prints "ready",
// starts on a line on stdin, prints "done <created> <failed>", then waits to
// be stopped (so the harness can read its CPU and RSS).
//   node bench/peers/node/creator.ts --sa-dir DIR --worker-job FILE --items N
//     --workers W --prefix P --route NAME --instance NAME
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { KubeClient } from '../../../src/kube/client.ts';
import { JobOperations } from '../../../src/kube/jobs.ts';
import { LABEL_INSTANCE } from '../../../src/kube/labels.ts';
import { loadTemplate } from '../../../src/template/index.ts';

const { values } = parseArgs({
  options: {
    'sa-dir': { type: 'string' },
    'worker-job': { type: 'string' },
    items: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '128' },
    prefix: { type: 'string', default: '' },
    route: { type: 'string', default: 'bench' },
    instance: { type: 'string', default: 'kjd' },
  },
});
const saDir = values['sa-dir'];
const templatePath = values['worker-job'];
if (saDir === undefined || templatePath === undefined)
  throw new Error('--sa-dir and --worker-job are required');
const items = Number(values.items);
const workers = Number(values.workers);

const client = KubeClient.connect({
  mode: 'in-cluster',
  env: process.env,
  serviceAccountDir: saDir,
  transport: { rateLimit: { qps: 1e9, burst: 1e9 }, connections: workers },
});
const template = await loadTemplate(templatePath);
// kjd's own create (fieldValidation=Strict), so the floor sends exactly what kjd sends.
const jobs = new JobOperations(client);

process.stdout.write('ready\n');
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await stdin.next();

let next = 0;
let created = 0;
let failed = 0;
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (let i = next++; i < items; i = next++) {
      const id = `${values.prefix}${String(i)}`;
      // As kjd serve renders an item {"id", "CUSTOM_ID"} of its route, with its instance label.
      const job = template.render({
        values: { CUSTOM_ID: id },
        payload: { id, CUSTOM_ID: id },
        requestId: id,
        idScope: values.route,
        namespace: client.namespace,
      });
      job.metadata ??= {};
      job.metadata.labels = { ...job.metadata.labels, [LABEL_INSTANCE]: values.instance };
      try {
        await jobs.create(job);
        created++;
      } catch (err) {
        failed++;
        process.stderr.write(`${String(err)}\n`);
      }
    }
  }),
);
process.stdout.write(`done ${String(created)} ${String(failed)}\n`);
await stdin.next();
await client.close();
