// TTL shorter than redelivery (issue 11 item 1): Jobs are deleted 1 s after
// they finish (ttlSecondsAfterFinished: 1). Once an item's Job is done and
// gone, the same item is delivered again (pushed again with the same id, as a
// producer retry or a recovered processing list would). It must not get a
// second Job: the ledger keeps every Job ever created, so a second one counts
// as a duplicate. Bound: 30 s after the redelivery.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchV1Api } from '@kubernetes/client-node';
import { defineScenario } from './lib/define.ts';
import { demoTemplate } from './lib/scenario.ts';

defineScenario('ttl-redelivery', {}, async (use, cluster) => {
  const probe = await use({ routes: ['list'] });
  const template = join(probe.dir, 'ttl-1s.yaml');
  await writeFile(
    template,
    (await readFile(demoTemplate, 'utf8')).replace(
      /ttlSecondsAfterFinished: \d+/,
      'ttlSecondsAfterFinished: 1',
    ),
  );
  const s = await use({ routes: ['list'], template });
  const n = 5;
  await s.pushList(n);
  await s.startKjd(await s.config(), 'a');
  await s.settle(Date.now(), 60_000);
  const batch = cluster.admin.makeApiClient(BatchV1Api);
  const deadline = Date.now() + 60_000;
  while ((await batch.listNamespacedJob({ namespace: s.ns })).items.length > 0 && Date.now() < deadline)
    await sleep(500);
  // Redelivery: the same items again (same ids), after their Jobs are gone.
  await s.redis.lpush(s.listKey, ...Array.from({ length: n }, (_, i) => JSON.stringify(s.item(i))));
  await sleep(15_000);
  const { census, recoverySeconds } = await s.settle(Date.now(), 30_000);
  await s.verdict(census, recoverySeconds);
});
