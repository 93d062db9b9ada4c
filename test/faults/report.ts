// Rewrites the scenario table of docs/reliability.md (between its markers)
// from test/faults/results/latest.json. Run by `npm run faults` after a run;
// by hand: `node test/faults/report.ts`.
import { readFile, writeFile } from 'node:fs/promises';
import { format, resolveConfig } from 'prettier';

const docFile = new URL('../../docs/reliability.md', import.meta.url).pathname;
const latestFile = new URL('./results/latest.json', import.meta.url).pathname;
const START = '<!-- faults:table:start -->';
const END = '<!-- faults:table:end -->';

/** What each scenario does, in one line: its row in docs/reliability.md. */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'kjd-sigkill': 'kjd SIGKILL: 2 replicas, both killed at random points 4 times, list route',
  'kjd-sigstop': 'kjd SIGSTOP 8 s / SIGCONT, 2 replicas, list + stream',
  'apiserver-restart': 'kube-apiserver stopped for 5 s and restarted (private cluster)',
  'etcd-compaction':
    'etcd compacted while kjd is cut off and frozen; thawed, its watch resumes into 410 (private cluster, no watch cache)',
  'etcd-compaction-jobs-gone':
    'as etcd-compaction, and the Jobs finish and are deleted (TTL 1 s) meanwhile (items 7, 1)',
  'api-proxy-latency': 'kjd→API server: 400 ± 200 ms latency for 20 s',
  'api-proxy-reset': 'kjd→API server: every connection reset for 10 s',
  'api-proxy-half-open':
    'kjd→API server half-open (no data, no FIN) for good; new connections work after 20 s; maxActiveJobs 2 (item 6)',
  'redis-proxy-latency': 'kjd→Redis: 300 ± 150 ms latency for 20 s',
  'redis-proxy-reset': 'kjd→Redis: every connection reset for 10 s',
  'redis-proxy-half-open': 'kjd→Redis half-open for good; new connections work after 20 s',
  'redis-kill9-aof': 'Redis kill -9, restart from AOF (everysec)',
  'redis-promotion': 'Redis replica promoted; old primary answers READONLY for 5 s, then the address moves',
  'apf-429': 'APF: kjd’s ServiceAccount limited to 1 share with Reject for 30 s (429 storm; private cluster)',
  'vap-deny-422': 'ValidatingAdmissionPolicy denies 20 of 40 items, default reason (422)',
  'vap-deny-403': 'ValidatingAdmissionPolicy denies 20 of 40 items, reason Forbidden (403) (item 9)',
  'quota-full': 'ResourceQuota count/jobs.batch = 3 for 20 s, then raised',
  'ttl-redelivery': 'Job TTL 1 s; the item is delivered again after its Job is gone (item 1)',
  'poison-item': 'an item with 1M keys, heap capped at the chart’s 256Mi (item 12)',
  'redis-cluster-kill9':
    'Redis Cluster (3 primaries + 3 replicas): kill -9 of the primary holding a list queue and its results, restarted after failover; waitForReplicas 1',
  'redis-cluster-reshard':
    'Redis Cluster: redis-cli --cluster reshard of the slot a list and a stream live on, during a run',
  'redis-sentinel-kill9':
    'Sentinel (1 primary, 1 replica, 3 sentinels): kill -9 of the primary, restarted after failover',
};

interface Row {
  name: string;
  items: number;
  jobs: number;
  duplicates: number;
  lost: number;
  resultsMissing: number;
  deadLettered: number;
  recoverySeconds: number | null;
  passed?: boolean;
  seconds?: number;
}

export function table(rows: readonly Row[]): string {
  const head =
    '| scenario | fault | items | Jobs | duplicates | lost | results missing | dead-lettered | recovery (s) | verdict | run (s) |\n' +
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |';
  const body = rows.map(
    (r) =>
      `| ${r.name} | ${DESCRIPTIONS[r.name] ?? ''} | ${r.items} | ${r.jobs} | ${r.duplicates} | ${r.lost} | ${r.resultsMissing} | ${r.deadLettered} | ${r.recoverySeconds ?? 'not within bound'} | ${r.passed === false ? '**fails**' : 'passes'} | ${r.seconds ?? ''} |`,
  );
  return [head, ...body].join('\n');
}

export async function writeReport(): Promise<void> {
  const latest = JSON.parse(await readFile(latestFile, 'utf8')) as {
    scenarios: Row[];
    soak: (Row & { minutes?: number; faults?: Record<string, number> }) | null;
  };
  const doc = await readFile(docFile, 'utf8');
  const i = doc.indexOf(START);
  const j = doc.indexOf(END);
  if (i < 0 || j < i) throw new Error(`${docFile}: markers ${START} … ${END} not found`);
  const soak =
    latest.soak === null
      ? '\n\nSoak: not run yet.'
      : `\n\nSoak (${latest.soak.minutes ?? '?'} min, ${latest.soak.items} items): Jobs ${latest.soak.jobs}, duplicates ${latest.soak.duplicates}, lost ${latest.soak.lost}, results missing ${latest.soak.resultsMissing}, dead-lettered ${latest.soak.deadLettered}, ${latest.soak.recoverySeconds === null ? 'not settled within the 300 s bound' : `settled ${latest.soak.recoverySeconds} s after the faults stopped`}; faults injected: ${JSON.stringify(latest.soak.faults ?? {})}.`;
  const text = `${doc.slice(0, i + START.length)}\n${table(latest.scenarios)}${soak}\n${doc.slice(j)}`;
  // Formatted as `npm test`'s format check expects it.
  await writeFile(docFile, await format(text, { ...(await resolveConfig(docFile)), filepath: docFile }));
}

if (import.meta.filename === process.argv[1]) await writeReport();
