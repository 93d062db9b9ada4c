// `npm run bench:flood [-- --reuse] [--items 3000] [--bogus-per-second 1000] [--rounds 5] [--placement split]`:
// how much a flood of bogus tokens costs a legitimate producer (issue 12).
// One `kjd serve` with an HTTP route (TokenReview auth); a producer with a
// real ServiceAccount token POSTs `items` items, 32 at a time, and its rate is
// read from the cluster (the Jobs that exist, their creation times). After one
// warm-up round (not counted: a cold API server is slower), each round runs
// the producer three times: quiet; under a flood of `bogus-per-second`
// requests to kjd, each with a token nobody issued; and under the same flood
// aimed at a null responder (bench/flood/null-responder.ts), a bare Node
// server that answers kjd's 429 bytes and does nothing else. That control
// tells what the flood costs this machine (wrk, the kernel, any Node HTTP
// server) apart from what kjd adds. Which kind goes first rotates. The
// ratios of the medians go to test/security/results/latest.json (flood) and
// docs/security.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startServe } from '../test/support/serve.ts';
import { mergeResults } from '../test/security/results.ts';
import { apiPath } from '../src/kube/client.ts';
import { createNamespace, startEnvironment } from './lib/environment.ts';
import { place, PLACEMENTS, type Placement } from './lib/placement.ts';

const { values } = parseArgs({
  options: {
    reuse: { type: 'boolean', default: false },
    items: { type: 'string', default: '3000' },
    'bogus-per-second': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    placement: { type: 'string', default: 'shared' },
  },
});
const placement = values.placement as Placement;
if (!PLACEMENTS.includes(placement)) {
  console.error(`--placement: one of ${PLACEMENTS.join(', ')}`);
  process.exit(2);
}
const items = Number(values.items);
const bogusPerSecond = Number(values['bogus-per-second']);
const rounds = Number(values.rounds);
const log = (m: string) => process.stderr.write(`[flood] ${m}\n`);
const FLOOD_SCRIPT = new URL('flood/bogus.lua', import.meta.url).pathname;
const template = new URL('../test/security/fixtures/suspended-job.yaml', import.meta.url).pathname;

const env = await startEnvironment({ reuse: values.reuse }, log);
const unplace = place(env, placement, log);
const ns = await createNamespace(env, `flood-${randomBytes(3).toString('hex')}`);
const dir = await mkdtemp(join(tmpdir(), 'kjd-flood-'));
// Processes to stop however the run ends (the null responder, a flood under way).
const stoppers = new Set<() => void>();
try {
  await env.admin.call('POST', apiPath('v1', ns.name, 'serviceaccounts'), {
    body: { metadata: { name: 'producer' } },
  });
  await env.admin.call('POST', apiPath('rbac.authorization.k8s.io/v1', ns.name, 'rolebindings'), {
    body: {
      metadata: { name: 'producer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'producer', namespace: ns.name }],
    },
  });
  const token = (
    await env.admin.call<{ status: { token: string } }>(
      'POST',
      apiPath('v1', ns.name, 'serviceaccounts', 'producer', 'token'),
      { body: { spec: { expirationSeconds: 3600 } } },
    )
  ).status.token;
  const config = join(dir, 'kjd.yaml');
  await writeFile(
    config,
    stringify({
      kubernetes: { kubeconfig: env.kubeconfigPath, qps: 1000, burst: 2000, connections: 128 },
      redis: { url: env.redisUrl },
      instance: ns.name,
      limits: { maxInFlightCreates: 128, maxActiveJobs: 100_000 },
      results: { stream: `${ns.name}:results`, hashPrefix: `${ns.name}:result:` },
      routes: [{ name: 'api', template, namespace: ns.name, source: { type: 'http' } }],
    }),
  );
  const kjd = await startServe(config, dir, 'flood');
  const control = await startNullResponder();
  stoppers.add(control.stop);
  const quiet: number[] = [];
  const flooded: number[] = [];
  const controlled: number[] = [];
  let bogusSent = 0;
  let bogusMs = 0;
  await verify('warm', await produce(kjd.url, token, 'warm'));
  // Each round runs the three kinds once; which goes first rotates, so a drift over the run favours none.
  const kinds = ['quiet', 'flood', 'control'] as const;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length] ?? 'quiet';
      const tag = `r${r}${kind[0] ?? ''}`;
      // The flood goes to kjd, or to the null responder while the producer still uses kjd.
      const target = kind === 'flood' ? kjd.url : kind === 'control' ? control.url : undefined;
      const flood = target !== undefined ? startFlood(target, bogusPerSecond) : undefined;
      if (flood !== undefined) {
        stoppers.add(flood.kill);
        await sleep(1000); // the flood is under way before the producer starts
      }
      const pids = {
        kjd: kjd.child.pid,
        wrk: flood?.pid,
        responder: kind === 'control' ? control.pid : undefined,
      };
      const cpu0 = await cpuOf(pids);
      const wallMs = await produce(kjd.url, token, tag);
      const cpu = await cpuOf(pids);
      const rate = await verify(tag, wallMs);
      if (flood !== undefined) {
        stoppers.delete(flood.kill);
        const f = await flood.stop();
        if (kind === 'flood') {
          bogusSent += f.sent;
          bogusMs += f.ms;
        }
      }
      (kind === 'quiet' ? quiet : kind === 'flood' ? flooded : controlled).push(rate);
      const share = (name: keyof typeof pids) =>
        pids[name] === undefined
          ? ''
          : ` ${name} ${(((cpu[name] - cpu0[name]) / wallMs) * 100).toFixed(0)} %`;
      log(
        `${tag}: ${rate.toFixed(1)} Jobs/s (${kind}); CPU of a core:${share('kjd')}${share('wrk')}${share('responder')}`,
      );
    }
  }
  kjd.child.kill('SIGTERM');
  await kjd.exited;
  const ratio = median(flooded) / median(quiet);
  const controlRatio = median(controlled) / median(quiet);
  const achieved = Math.round((bogusSent / bogusMs) * 1000);
  const byRound = (xs: number[]) => xs.map((f, i) => (f / (quiet[i] ?? f)).toFixed(2)).join(', ');
  log(
    `legit ${median(quiet).toFixed(1)} Jobs/s; under ${achieved} bogus/s at kjd ${median(flooded).toFixed(1)}: ratio ${ratio.toFixed(3)}` +
      ` (round by round ${byRound(flooded)}); at the null responder ${median(controlled).toFixed(1)}: ratio ${controlRatio.toFixed(3)}` +
      ` (round by round ${byRound(controlled)})`,
  );
  // The security results show the default placement; a split run is only logged (docs/security.md quotes it).
  if (placement === 'shared')
    await mergeResults({
      flood: {
        bogusPerSecond: achieved,
        legitJobsPerSecondRatio: Math.round(ratio * 1000) / 1000,
        nullResponderRatio: Math.round(controlRatio * 1000) / 1000,
      },
    });
} finally {
  for (const stop of stoppers) stop();
  unplace();
  // The cluster may be gone already (another bench run started one of the same name): stop Redis anyway.
  await ns.remove().catch((err: unknown) => log(`removing the namespace failed: ${String(err)}`));
  await rm(dir, { recursive: true, force: true });
  await env.stop();
}

/** POSTs `items` items, 32 at a time; returns the ms from the first request to the last 202. */
async function produce(url: string, token: string, tag: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < items; i = next++) {
      for (;;) {
        const res = await fetch(`${url}/v1/jobs?route=api`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ id: `${tag}-${i}`, CUSTOM_ID: String(i) }),
        });
        await res.arrayBuffer();
        if (res.status === 202) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`legit POST answered ${res.status}`);
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return performance.now() - started;
}

/**
 * Jobs/s of round `tag`, after checking with the API server that each item
 * has its Job. Apart from produce(), so the CPU shares logged cover the
 * posting only, not this list of a namespace that grows every round.
 */
async function verify(tag: string, ms: number): Promise<number> {
  const listed = await env.admin.call<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(
    'GET',
    apiPath('batch/v1', ns.name, 'jobs'),
  );
  const made = listed.items.filter((j) =>
    j.metadata.annotations?.['kjd.dev/request-id']?.startsWith(`${tag}-`),
  ).length;
  if (made !== items) throw new Error(`${tag}: ${made} Jobs for ${items} items`);
  return items / (ms / 1000);
}

/**
 * Bogus-token requests at `perSecond` from wrk, a separate C process, so the
 * flood's own cost neither shares the producer's event loop nor (much) its
 * CPU: what the ratio measures is what the flood costs kjd. Runs until stopped.
 */
function startFlood(
  url: string,
  perSecond: number,
): { pid: number | undefined; kill: () => void; stop(): Promise<{ sent: number; ms: number }> } {
  // wrk waits `delay` before each request on a connection, then the answer:
  // many connections with a long delay keep the answer's latency a small part
  // of each cycle, so the achieved rate stays near the asked one.
  const connections = Math.max(16, Math.round(perSecond / 10));
  const wrk = spawn(
    'wrk',
    [
      '-t1',
      `-c${connections}`,
      '-d3600s',
      '-s',
      FLOOD_SCRIPT,
      url,
      '--',
      String(connections),
      String(perSecond),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  wrk.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = once(wrk, 'exit');
  return {
    pid: wrk.pid,
    kill: () => wrk.kill('SIGKILL'),
    async stop() {
      wrk.kill('SIGINT'); // wrk stops, prints its summary and runs the script's done()
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (line === undefined) throw new Error(`wrk printed no summary:\n${out}`);
      const s = JSON.parse(line) as { requests: number; durationUs: number; errors: number };
      if (s.errors > s.requests / 100)
        throw new Error(`wrk: ${s.errors} socket errors in ${s.requests} requests`);
      return { sent: s.requests, ms: s.durationUs / 1000 };
    },
  };
}

/** The null responder (bench/flood/null-responder.ts) in a process of its own, as kjd is. */
async function startNullResponder(): Promise<{ url: string; pid: number | undefined; stop: () => void }> {
  const child = spawn(process.execPath, [new URL('flood/null-responder.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
  return { url: `http://127.0.0.1:${line.trim()}`, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

async function cpuOf<K extends string>(pids: Record<K, number | undefined>): Promise<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const name of Object.keys(pids) as K[]) out[name] = await cpuMs(pids[name]);
  return out;
}

/** User + system CPU time of a process, in ms (Linux /proc; clock ticks are 10 ms). */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
