// Property-based fuzzing of both ways in: 10,000 generated HTTP requests and
// 10,000 generated queue items (Redis list) into one real `kjd serve`, real
// API server, real Redis. Invariant, counted from the cluster and Redis:
//   - each HTTP input: 202 with a Job that exists, or a 4xx; never a 5xx;
//   - each queue item: a Job or a dead-letter entry with its reason;
//   - kjd never exits; no value reaches the shell unquoted: every Job's
//     command is run (kubelet expansion, then sh) and must print exactly the
//     values sent, and the marker file the payloads try to touch never appears;
//   - kjd's peak RSS (VmHWM) is reported.
// Jobs are created suspended (no Pods). Figures go to test/security/results/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, type V1Container } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { expandLikeKubelet } from '../../src/template/index.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';
import { httpRequests, queueItems, type Expected } from './fuzz-inputs.ts';
import { mergeResults } from './results.ts';

const template = new URL('./fixtures/suspended-job.yaml', import.meta.url).pathname;
const COUNT = Number(process.env.KJD_FUZZ_COUNT ?? 10_000);
const CONCURRENCY = 16;
const SEED = 20261202;
const MARKER = join(tmpdir(), `kjd-fuzz-pwned-${randomBytes(6).toString('hex')}`);
const TOKEN = randomBytes(24).toString('hex');

describe('fuzz: 10,000 HTTP requests and 10,000 queue items', () => {
  const ns = useNamespace('sec-fuzz');
  let dir: string;
  let kjd: ServeProcess;
  let redis: Redis;
  const p = `z${randomBytes(3).toString('hex')}`;
  const key = `${p}:items`;
  const expected = new Map<string, Expected>();
  let peakRssKb = 0;
  let rssTimer: NodeJS.Timeout | undefined;
  const tally = { inputs: 0, jobs: 0, rejected: 0, deadLettered: 0, serverErrors: 0, injections: 0 };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-fuzz-'));
    redis = new Redis(testEnv().redisUrl);
    const file = await writeServeConfig(dir, p, {
      http: { maxBodyBytes: 16_384, auth: { mode: 'static', tokens: [TOKEN] } },
      limits: { maxInFlightCreates: 32, maxAttempts: 3 },
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
      routes: [
        { name: 'fz', template, namespace: ns.name, source: { type: 'http' } },
        { name: 'fzq', template, namespace: ns.name, source: { type: 'redis-list', key } },
      ],
    });
    // Node's flags as kjd's Pod runs it (the chart's nodeOptions, the image's
    // young generation): bounded memory is shown under the cap the Pod has, not
    // by a lazy GC's high-water mark.
    kjd = await startServe(file, dir, `${p}-a`, {
      env: { NODE_OPTIONS: '--max-old-space-size=160 --max-semi-space-size=4' },
    });
    const sample = () => {
      const status = readFileSync(`/proc/${kjd.child.pid ?? 0}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+)/.exec(status)?.[1];
      if (hwm !== undefined) peakRssKb = Math.max(peakRssKb, Number(hwm));
    };
    rssTimer = setInterval(() => {
      try {
        sample();
      } catch {
        // exited: the test below fails on that
      }
    }, 500);
  });
  after(async () => {
    clearInterval(rssTimer);
    kjd.child.kill('SIGTERM');
    const stopped = await Promise.race([kjd.exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!stopped) {
      process.stderr.write('kjd serve did not stop in 15 s after SIGTERM; killing it\n');
      kjd.child.kill('SIGKILL');
    }
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  test('HTTP: every request is a 202 with a Job or a 4xx', { timeout: 600_000 }, async () => {
    const requests = httpRequests(COUNT, MARKER, SEED);
    const statuses = new Map<number, number>();
    const created: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (r === undefined) continue;
        let status: number;
        let body = '';
        try {
          const res = await fetch(`${kjd.url}/v1/jobs`, {
            method: 'POST',
            headers: { ...r.headers, authorization: `Bearer ${TOKEN}` },
            body: r.body,
          });
          status = res.status;
          body = await res.text();
        } catch {
          status = 0; // no answer: counted as a server error
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 202) {
          created.push((JSON.parse(body) as { jobName: string }).jobName);
          if (r.expect !== undefined) expected.set(r.expect.id, r.expect.values);
        } else if (status >= 400 && status < 500) {
          tally.rejected++;
          assert.match(body, /"code":"[A-Z_]+"/, `a 4xx with a code: ${body}`);
        } else tally.serverErrors++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    tally.inputs += requests.length;
    const names = new Set(
      (await testEnv().admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns.name })).items.map(
        (j) => j.metadata?.name,
      ),
    );
    const missing = created.filter((n) => !names.has(n));
    assert.deepEqual(missing, [], 'every 202 names a Job that exists');
    assert.equal(kjd.child.exitCode, null, 'kjd is still running');
    assert.equal(tally.serverErrors, 0, JSON.stringify(Object.fromEntries(statuses)));
  });

  test(
    'queue: every item becomes a Job or a dead-letter entry with its reason',
    { timeout: 600_000 },
    async () => {
      const items = queueItems(COUNT, MARKER, SEED + 10);
      for (let i = 0; i < items.length; i += 500) {
        await redis.lpush(key, ...items.slice(i, i + 500).map((it) => it.raw));
      }
      tally.inputs += items.length;
      const wantJobs = new Set(items.flatMap((it) => (it.expect !== undefined ? [it.expect.id] : [])));
      const batch = testEnv().admin.makeApiClient(BatchV1Api);
      const accounted = await eventually(
        'every queue item to be a Job or a dead letter',
        async () => {
          if ((await redis.llen(key)) > 0) return undefined;
          if ((await redis.llen(`${key}:processing:${p}-a`)) > 0) return undefined;
          return true;
        },
        400_000,
      );
      assert.ok(accounted);
      const dead = (await redis.lrange(`${key}:dead`, 0, -1)).map(
        (d) => JSON.parse(d) as { reason?: string; code?: string; requestId: string },
      );
      assert.ok(
        dead.every((d) => typeof d.reason === 'string' && d.reason !== '' && typeof d.code === 'string'),
        'every dead letter says why',
      );
      const jobs = (await batch.listNamespacedJob({ namespace: ns.name })).items;
      const fromQueue = jobs.filter((j) =>
        /fz-q-\d+/.test(j.metadata?.annotations?.['kjd.dev/request-id'] ?? ''),
      );
      for (const it of items) if (it.expect !== undefined) expected.set(it.expect.id, it.expect.values);
      tally.deadLettered = dead.length;
      assert.equal(fromQueue.length + dead.length, items.length, 'each item once: a Job or a dead letter');
      assert.ok(fromQueue.length <= wantJobs.size);
      assert.equal(kjd.child.exitCode, null, 'kjd is still running');
    },
  );

  test(
    'no value reaches the shell unquoted: every Job prints exactly its values',
    { timeout: 600_000 },
    async () => {
      const jobs = (await testEnv().admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns.name }))
        .items;
      tally.jobs = jobs.length;
      let checked = 0;
      for (const job of jobs) {
        const id = /fz-[hq]-\d+/.exec(job.metadata?.annotations?.['kjd.dev/request-id'] ?? '')?.[0];
        const values =
          id === undefined
            ? undefined
            : (expected.get(id) ?? expected.get(`/fuzz/${id}`) ?? expected.get(`/fuzzb/${id}`));
        const container = job.spec?.template.spec?.containers[0];
        if (container === undefined) continue;
        const out = runLikeKubelet(container);
        checked++;
        if (values !== undefined && out !== `${values.CUSTOM_ID}|${values.NOTE}`) tally.injections++;
      }
      if (existsSync(MARKER)) tally.injections++;
      const peakRssMB = Math.round(peakRssKb / 1024);
      await mergeResults({ fuzz: { ...tally, peakRssMB } });
      assert.equal(checked, jobs.length);
      assert.equal(tally.injections, 0);
      assert.ok(tally.inputs >= 2 * COUNT);
    },
  );
});

/** The kubelet's `$(VAR)` expansion, then the argv run as is, with a short fixed PATH. */
function runLikeKubelet(container: V1Container): string {
  const vars = new Map<string, string>();
  for (const e of container.env ?? []) vars.set(e.name, expandLikeKubelet(e.value ?? '', vars));
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) =>
    expandLikeKubelet(a, vars),
  );
  const [program = '', ...args] = argv;
  const r = spawnSync(program, args, {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(vars) },
    cwd: tmpdir(),
    timeout: 5000,
  });
  return r.stdout;
}
