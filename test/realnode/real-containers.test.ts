// On the real node (harness/node/): real containers run what kjd renders.
// Every assertion counts from the cluster or from the container's own output
// (Pod logs, termination message, exit code), never from kwok's rules.
// Skips, with the reason, where the host cannot run the node.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../src/cli/kjd.ts';
import { testEnv } from '../support/env.ts';
import { capture, type Captured } from '../support/capture.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { realNodeContext, requireRealNode, writeShTemplate } from '../support/real-node.ts';
import { batch, core, useServeFixture } from '../support/serve-fixture.ts';

const rn = await realNodeContext();
const HOSTILE = '1; touch /tmp/pwned $(id)';

// Each test skips (not only the suite), so the run's summary counts them as skipped.
describe(`real containers on ${rn.name ?? 'the real node'} (${rn.image})`, () => {
  const ns = useNamespace('realnode');
  let dir = '';
  let template = '';
  before(async () => {
    // A failing before hook would leave the nested fixture's Redis connection open
    // (its after hook never runs) and the file would never end: each test fails instead.
    if (rn.skip !== false || rn.failure !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'kjd-realnode-'));
    template = await writeShTemplate(dir, 'sh', rn.image);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const kjd = (args: string[]): Promise<Captured> =>
    capture((io) =>
      runCli(['--kubeconfig', testEnv().kubeconfigPath, '-n', ns.name, ...args], {
        ...io,
        env: { HOME: dir },
      }),
    );
  const jobName = (r: Captured) => /job\.batch\/(\S+) created/.exec(r.stdout)?.[1] ?? '';

  /** The Job's one Pod, as the API server has it: where it ran and how its container ended. */
  async function podOf(job: string) {
    const pods = await core().listNamespacedPod({ namespace: ns.name, labelSelector: `job-name=${job}` });
    assert.equal(pods.items.length, 1, `one Pod for ${job}`);
    const pod = pods.items[0]!;
    return {
      node: pod.spec?.nodeName,
      terminated: pod.status?.containerStatuses?.[0]?.state?.terminated,
    };
  }

  test(
    'seed 000: a hostile value reaches sh -c as ONE argument and runs nothing',
    { skip: rn.skip, timeout: 120_000 },
    async () => {
      requireRealNode(rn);
      const r = await kjd(['launch', '-f', template, '--set', `VALUE=${HOSTILE}`, '--wait']);
      assert.equal(r.code, 0, r.stderr);
      const job = jobName(r);
      const logs = await kjd(['logs', job]);
      assert.equal(logs.code, 0, logs.stderr);
      // From the container itself: one argument, verbatim; the inline (quoted) use too;
      // touch never ran (no /tmp/pwned), and neither did id (no uid= anywhere).
      assert.equal(logs.stdout, [`arg: [${HOSTILE}]`, `inline: [${HOSTILE}]`, 'pwned: no', ''].join('\n'));
      assert.doesNotMatch(logs.stdout, /uid=/);
      const pod = await podOf(job);
      assert.equal(pod.node, rn.name, 'it ran on the real node, not on kwok');
      assert.equal(pod.terminated?.exitCode, 0);
      assert.equal(pod.terminated.message, `exit 0: ${HOSTILE}`);
    },
  );

  test(
    'exit 3: kjd wait sees the real Failed end with exit code and termination message',
    { skip: rn.skip, timeout: 120_000 },
    async () => {
      requireRealNode(rn);
      const launched = await kjd([
        'launch',
        '-f',
        template,
        '--set',
        'VALUE=bad input',
        '--set',
        'EXIT_CODE=3',
      ]);
      assert.equal(launched.code, 0, launched.stderr);
      const job = jobName(launched);
      const waited = await kjd(['wait', job, '--timeout', '90s']);
      assert.equal(waited.code, 3, `kjd wait exits 3 for a failed Job; ${waited.stderr}`);
      assert.match(waited.stdout, new RegExp(`job/${job} Failed \\(BackoffLimitExceeded\\)`));
      assert.match(waited.stdout, /container sh exited 3 \(Error\): exit 3: bad input/);
      const logs = await kjd(['logs', job]);
      assert.equal(logs.stdout, 'arg: [bad input]\ninline: [bad input]\npwned: no\n');
      const pod = await podOf(job);
      assert.deepEqual([pod.node, pod.terminated?.exitCode], [rn.name, 3]);
    },
  );

  test(
    'exit 0: launch --wait --logs shows Succeeded, the message and the real stdout',
    { skip: rn.skip, timeout: 120_000 },
    async () => {
      requireRealNode(rn);
      const r = await kjd(['launch', '-f', template, '--set', "VALUE=it's fine", '--wait', '--logs']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Succeeded \(CompletionsReached\)/);
      assert.match(r.stdout, /container sh exited 0 \(Completed\): exit 0: it's fine/);
      assert.match(r.stdout, /^arg: \[it's fine\]\ninline: \[it's fine\]\npwned: no$/m);
    },
  );

  describe('kjd serve: results carry the container outcome', () => {
    const fx = useServeFixture(ns, 'placeholder');
    test(
      'Failed with exit code 3 and its message; Succeeded with exit code 0 and its message',
      { skip: rn.skip, timeout: 180_000 },
      async () => {
        requireRealNode(rn);
        const p = fx.prefix();
        const route = { ...fx.listRoute(p), template };
        await fx.redis.lpush(
          `${p}:queue`,
          JSON.stringify({ id: `${p}-fail`, VALUE: 'nope', EXIT_CODE: 3 }),
          JSON.stringify({ id: `${p}-ok`, VALUE: HOSTILE }),
        );
        const kjdServe = await fx.serve(p, { routes: [route] });
        const read = (id: string) =>
          eventually(
            `the result of ${id}`,
            async () => {
              const h = await fx.redis.hgetall(`${p}:result:list/${id}`);
              return h.status === undefined ? undefined : h;
            },
            150_000,
          );
        const failed = await read(`${p}-fail`);
        const ok = await read(`${p}-ok`);
        await fx.stop(kjdServe);
        assert.deepEqual(
          [failed.status, failed.reason, failed.exitCode, failed.terminationMessage],
          ['Failed', 'BackoffLimitExceeded', '3', 'exit 3: nope'],
        );
        assert.deepEqual(
          [ok.status, ok.exitCode, ok.terminationMessage],
          ['Succeeded', '0', `exit 0: ${HOSTILE}`],
        );
        const pods = await core().listNamespacedPod({ namespace: ns.name });
        const mine = pods.items.filter(
          (pod) => (pod.metadata?.labels?.['job-name'] ?? '') === failed.jobName,
        );
        assert.deepEqual(
          mine.map((pod) => pod.spec?.nodeName),
          [rn.name],
        );
      },
    );

    /** Queues `items` on the route, runs kjd serve until each has a result, stops it: the results, in order. */
    async function runBatch(
      p: string,
      route: Record<string, unknown>,
      items: readonly { id: string }[],
    ): Promise<Record<string, string>[]> {
      await fx.redis.lpush(`${p}:queue`, ...items.map((i) => JSON.stringify(i)));
      const kjdServe = await fx.serve(p, { routes: [route] });
      const results = [];
      for (const { id } of items) {
        results.push(
          await eventually(
            `the result of ${id}`,
            async () => {
              const h = await fx.redis.hgetall(`${p}:result:list/${id}`);
              return h.status === undefined ? undefined : h;
            },
            200_000,
          ),
        );
      }
      await fx.stop(kjdServe);
      return results;
    }

    test(
      'batch mode: three items in one Indexed Job, each index with its own exit code and message',
      { skip: rn.skip, timeout: 240_000 },
      async () => {
        requireRealNode(rn);
        const p = fx.prefix();
        const route = { ...fx.listRoute(p), template, batch: { maxItems: 3, windowMs: 2000 } };
        const items = [
          { id: `${p}-a`, VALUE: HOSTILE },
          { id: `${p}-b`, VALUE: 'nope', EXIT_CODE: 3 },
          { id: `${p}-c`, VALUE: "it's $HOME `id`" },
        ];
        const results = await runBatch(p, route, items);
        assert.equal(new Set(results.map((r) => r.jobName)).size, 1, 'one Job for the three');
        assert.deepEqual(
          results.map((r) => [r.index, r.status, r.exitCode, r.terminationMessage]),
          [
            ['0', 'Succeeded', '0', `exit 0: ${HOSTILE}`],
            ['1', 'Failed', '3', 'exit 3: nope'],
            ['2', 'Succeeded', '0', "exit 0: it's $HOME `id`"],
          ],
        );
        const pods = await core().listNamespacedPod({
          namespace: ns.name,
          labelSelector: `job-name=${results[0]?.jobName ?? ''}`,
        });
        assert.equal(pods.items.length, 3, 'one Pod per index (backoffLimit 0: no retry)');
        assert.ok(pods.items.every((pod) => pod.spec?.nodeName === rn.name));
      },
    );

    test(
      "batch mode: an item's result is readable as soon as its index ends, not when its Job does",
      { skip: rn.skip, timeout: 240_000 },
      async () => {
        requireRealNode(rn);
        const p = fx.prefix();
        const route = { ...fx.listRoute(p), template, batch: { maxItems: 2, windowMs: 2000 } };
        await fx.redis.lpush(
          `${p}:queue`,
          JSON.stringify({ id: `${p}-quick`, VALUE: 'quick' }),
          JSON.stringify({ id: `${p}-slow`, VALUE: 'slow', SLEEP: 40 }),
        );
        const kjdServe = await fx.serve(p, { routes: [route] });
        const result = (id: string) => fx.redis.hgetall(`${p}:result:list/${id}`);
        const quick = await eventually(
          'the quick item’s result',
          async () => {
            const h = await result(`${p}-quick`);
            return h.status === undefined ? undefined : h;
          },
          150_000,
        );
        // Read from the cluster, not from kjd: the batch Job is still running its slow index.
        const job = await batch().readNamespacedJob({ name: quick.jobName ?? '', namespace: ns.name });
        const slowNow = await result(`${p}-slow`);
        assert.equal(job.status?.active, 1, 'the slow index still runs');
        assert.equal(slowNow.status, undefined, 'the slow item has no result yet');
        assert.deepEqual(
          [quick.index, quick.status, quick.exitCode, quick.terminationMessage],
          ['0', 'Succeeded', '0', 'exit 0: quick'],
        );
        const slow = await eventually(
          'the slow item’s result',
          async () => {
            const h = await result(`${p}-slow`);
            return h.status === undefined ? undefined : h;
          },
          150_000,
        );
        await fx.stop(kjdServe);
        assert.deepEqual(
          [slow.jobName, slow.index, slow.status, slow.terminationMessage],
          [quick.jobName, '1', 'Succeeded', 'exit 0: slow'],
        );
        const stream = await fx.redis.xrange(`${p}:results`, '-', '+');
        assert.equal(stream.length, 2, 'one result each in the results stream');
      },
    );

    test(
      'itemsPerPod: three items run in turn in ONE Pod, each with its own exit code and message',
      { skip: rn.skip, timeout: 240_000 },
      async () => {
        requireRealNode(rn);
        const p = fx.prefix();
        const route = {
          ...fx.listRoute(p),
          template,
          batch: { maxItems: 3, windowMs: 2000, itemsPerPod: 3 },
        };
        const items = [
          { id: `${p}-a`, VALUE: HOSTILE },
          { id: `${p}-b`, VALUE: 'nope', EXIT_CODE: 3 },
          { id: `${p}-c`, VALUE: 'third' },
        ];
        const results = await runBatch(p, route, items);
        assert.deepEqual(
          results.map((r) => [r.index, r.status, r.reason, r.exitCode, r.terminationMessage]),
          [
            ['0', 'Succeeded', undefined, '0', `exit 0: ${HOSTILE}`],
            ['1', 'Failed', 'ItemFailed', '3', 'exit 3: nope'],
            ['2', 'Succeeded', undefined, '0', 'exit 0: third'],
          ],
        );
        const pods = await core().listNamespacedPod({
          namespace: ns.name,
          labelSelector: `job-name=${results[0]?.jobName ?? ''}`,
        });
        assert.equal(pods.items.length, 1, 'one Pod ran the three');
        const logs = await core().readNamespacedPodLog({
          name: pods.items[0]?.metadata?.name ?? '',
          namespace: ns.name,
        });
        assert.match(logs, /pwned: no/);
        assert.doesNotMatch(logs, /pwned: yes/);
      },
    );
  });
});
