// Who made how many API requests, as the API server counts them: a FlowSchema
// per ServiceAccount, read from apiserver_flowcontrol_dispatched_requests_total.
// And a kubeconfig for a ServiceAccount, for a process (KEDA's operator) that
// takes one, so that its requests carry the ServiceAccount's name.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { httpsGet } from '../../harness/net.ts';
import type { BenchEnvironment, BenchNamespace } from './environment.ts';
import { cpuSeconds } from './proc.ts';
import { round } from './stats.ts';

/**
 * A FlowSchema that puts the namespace's ServiceAccount (and only it) in its
 * own flow, at the same priority level any workload would get (or at
 * `priorityLevel`), so the API server's metrics count that contender's
 * requests and nothing else.
 */
export async function countRequestsOf(
  env: BenchEnvironment,
  ns: BenchNamespace,
  priorityLevel = 'workload-high',
) {
  const name = `h2h-${ns.name}`;
  await env.admin.call('POST', '/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas', {
    body: {
      metadata: { name },
      spec: {
        priorityLevelConfiguration: { name: priorityLevel },
        matchingPrecedence: 500,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [
              { kind: 'ServiceAccount', serviceAccount: { name: 'bench-runner', namespace: ns.name } },
            ],
            resourceRules: [
              { verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] },
            ],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          },
        ],
      },
    },
  });
  const pki = dirname(env.caFile);
  const tls = {
    ca: await readFile(env.caFile),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  };
  const dispatched = async () => {
    const { body } = await httpsGet(`${env.server.origin}/metrics`, tls, 10_000);
    let total = 0;
    for (const line of body.split('\n'))
      if (
        line.startsWith('apiserver_flowcontrol_dispatched_requests_total{') &&
        line.includes(`flow_schema="${name}"`)
      )
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  };
  return {
    name,
    dispatched,
    remove: () =>
      env.admin
        .call('DELETE', `/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/${name}`)
        .catch(() => undefined),
  };
}

/**
 * A kubeconfig for the namespace's ServiceAccount, bound to cluster-admin:
 * KEDA's chart gives its operator a ClusterRole; what matters here is that its
 * requests carry the ServiceAccount's name, for the FlowSchema to count.
 */
export async function serviceAccountKubeconfig(
  env: BenchEnvironment,
  ns: BenchNamespace,
  dir: string,
): Promise<string> {
  await env.admin.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    body: {
      metadata: { name: `h2h-${ns.name}`, labels: { 'kjd.dev/bench': 'true' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'bench-runner', namespace: ns.name }],
    },
  });
  const token = await readFile(join(ns.serviceAccountDir, 'token'), 'utf8');
  const file = join(dir, 'keda-kubeconfig.yaml');
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: {
            server: env.server.origin,
            'certificate-authority-data': (await readFile(env.caFile)).toString('base64'),
          },
        },
      ],
      users: [{ name: 'keda', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'keda', namespace: ns.name } }],
      'current-context': 'local',
    }),
    { mode: 0o600 },
  );
  // RBAC reaches the authorizer's cache within moments.
  await new Promise((r) => setTimeout(r, 1_000));
  return file;
}

/** Every request the API server served so far, by `VERB resource[/subresource] [code if not 2xx]` (apiserver_request_total). */
export async function requestTotals(env: BenchEnvironment): Promise<Map<string, number>> {
  const body = await serverMetrics(env);
  const totals = new Map<string, number>();
  const label = (line: string, name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const sub = label(line, 'subresource');
    const code = label(line, 'code');
    // Only refusals are told apart by their code: a 409 is a request made twice.
    const refused = code.startsWith('2') ? '' : ` ${code}`;
    const key = `${label(line, 'verb')} ${label(line, 'resource')}${sub === '' ? '' : `/${sub}`}${refused}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return totals;
}

/** What was served between two `requestTotals`, per item, the kinds of at least 0.01 per item. */
export function requestsPerItem(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  items: number,
): Record<string, number> {
  const out: [string, number][] = [];
  for (const [key, n] of after) {
    const per = (n - (before.get(key) ?? 0)) / Math.max(1, items);
    if (per >= 0.01) out.push([key, Math.round(per * 100) / 100]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

/** The API server's /metrics as the admin reads them. */
async function serverMetrics(env: BenchEnvironment): Promise<string> {
  const pki = dirname(env.caFile);
  const tls = {
    ca: await readFile(env.caFile),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  };
  return (await httpsGet(`${env.server.origin}/metrics`, tls, 10_000)).body;
}

/** Where APF puts the namespace's ServiceAccount: the names behind the X-Kubernetes-PF-* headers of its answer. */
export async function placementOf(
  env: BenchEnvironment,
  ns: BenchNamespace,
): Promise<{ readonly flowSchema: string; readonly priorityLevel: string }> {
  const token = await readFile(join(ns.serviceAccountDir, 'token'), 'utf8');
  const { headers } = await httpsGet(
    `${env.server.origin}/apis/batch/v1/namespaces/${ns.name}/jobs?limit=1`,
    { ca: await readFile(env.caFile) },
    10_000,
    { authorization: `Bearer ${token.trim()}` },
  );
  const nameOf = async (kind: string, uid: unknown) => {
    const list = await env.admin.call<{ items: { metadata: { name: string; uid: string } }[] }>(
      'GET',
      `/apis/flowcontrol.apiserver.k8s.io/v1/${kind}`,
    );
    return list.items.find((i) => i.metadata.uid === uid)?.metadata.name ?? `unknown (uid ${String(uid)})`;
  };
  return {
    flowSchema: await nameOf('flowschemas', headers['x-kubernetes-pf-flowschema-uid']),
    priorityLevel: await nameOf('prioritylevelconfigurations', headers['x-kubernetes-pf-prioritylevel-uid']),
  };
}

/** APF's counts for one FlowSchema (requests it dispatched and rejected), and one priority level's seats. */
export interface FlowMetrics {
  readonly dispatched: number;
  readonly rejected: number;
  readonly nominalSeats: number;
  /** Sum and count of apiserver_flowcontrol_request_execution_seconds: how long requests held their seats. */
  readonly executionSeconds: number;
  readonly executed: number;
  /** Sum and count of apiserver_flowcontrol_work_estimated_seats: seats each request was estimated to need. */
  readonly estimatedSeats: number;
  readonly estimated: number;
  /** Sum and count of apiserver_flowcontrol_request_wait_duration_seconds: how long requests queued for seats. */
  readonly waitSeconds: number;
  readonly waited: number;
  /** The priority levels the API server dispatched the FlowSchema's requests at (its own labels). */
  readonly priorityLevels: readonly string[];
}

export async function flowMetrics(
  env: BenchEnvironment,
  flowSchema: string,
  priorityLevel?: string,
): Promise<FlowMetrics> {
  const out = {
    dispatched: 0,
    rejected: 0,
    nominalSeats: 0,
    executionSeconds: 0,
    executed: 0,
    estimatedSeats: 0,
    estimated: 0,
    waitSeconds: 0,
    waited: 0,
  };
  const levels = new Set<string>();
  const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
  const sums: Readonly<Record<string, keyof typeof out>> = {
    'apiserver_flowcontrol_dispatched_requests_total{': 'dispatched',
    'apiserver_flowcontrol_rejected_requests_total{': 'rejected',
    'apiserver_flowcontrol_request_execution_seconds_sum{': 'executionSeconds',
    'apiserver_flowcontrol_request_execution_seconds_count{': 'executed',
    'apiserver_flowcontrol_work_estimated_seats_sum{': 'estimatedSeats',
    'apiserver_flowcontrol_work_estimated_seats_count{': 'estimated',
    'apiserver_flowcontrol_request_wait_duration_seconds_sum{': 'waitSeconds',
    'apiserver_flowcontrol_request_wait_duration_seconds_count{': 'waited',
  };
  for (const line of (await serverMetrics(env)).split('\n')) {
    if (line.includes(`flow_schema="${flowSchema}"`)) {
      for (const [prefix, key] of Object.entries(sums)) if (line.startsWith(prefix)) out[key] += value(line);
      const level = /priority_level="([^"]*)"/.exec(line)?.[1];
      if (level !== undefined && line.startsWith('apiserver_flowcontrol_dispatched_requests_total{'))
        levels.add(level);
    }
    if (
      priorityLevel !== undefined &&
      line.startsWith('apiserver_flowcontrol_nominal_limit_seats{') &&
      line.includes(`priority_level="${priorityLevel}"`)
    )
      out.nominalSeats = value(line);
  }
  return { ...out, priorityLevels: [...levels] };
}

/** Where APF puts a ServiceAccount: a FlowSchema and its priority level. */
export interface Placement {
  readonly flowSchema: string;
  readonly priorityLevel: string;
}

/** What the API server saw of one ServiceAccount between two snapshots, and its process's CPU. */
export interface SideCounts {
  /** Where the cluster's default FlowSchemas put this ServiceAccount. */
  readonly placement: Placement;
  /** The priority levels the API server dispatched its counted requests at (should be placement's). */
  readonly dispatchedAt: readonly string[];
  readonly dispatched: number;
  /** 429s: apiserver_flowcontrol_rejected_requests_total of its FlowSchema. */
  readonly rejected: number;
  /** Mean time a request queued in APF for a seat, and held it (ms), from the API server's histograms. */
  readonly queuedMsPerRequest: number;
  readonly seatMsPerRequest: number;
  readonly cpuSeconds: number;
}

export type CountSnapshot = FlowMetrics & { readonly cpu: number };

export interface SideCounter {
  readonly placement: Placement;
  snapshot(): Promise<CountSnapshot>;
  remove(): Promise<unknown>;
}

/**
 * A FlowSchema of the namespace's ServiceAccount's own at the priority level
 * it lands in by default, and by user as the default `service-accounts`
 * schema is: the same level and the same kind of flow, but counted apart.
 * Returns once the API server puts the ServiceAccount's requests there.
 */
export async function countApart(
  env: BenchEnvironment,
  ns: BenchNamespace,
  pid: number,
): Promise<SideCounter> {
  const placement = await placementOf(env, ns);
  const schema = await countRequestsOf(env, ns, placement.priorityLevel);
  for (let i = 0; ; i++) {
    const seen = await placementOf(env, ns);
    if (seen.flowSchema === schema.name && seen.priorityLevel === placement.priorityLevel) break;
    if (i === 100) {
      await schema.remove();
      throw new Error(`${ns.name}: still in ${JSON.stringify(seen)} after 10 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    placement,
    snapshot: async () => ({ ...(await flowMetrics(env, schema.name)), cpu: cpuSeconds(pid) }),
    remove: schema.remove,
  };
}

export function sideCounts(
  c: SideCounter | undefined,
  before: CountSnapshot | undefined,
  after: CountSnapshot | undefined,
): SideCounts {
  if (c === undefined || before === undefined || after === undefined)
    throw new Error('a side without counts');
  const perRequestMs = (seconds: number, count: number) =>
    count > 0 ? round((seconds / count) * 1000, 2) : 0;
  return {
    placement: c.placement,
    dispatchedAt: after.priorityLevels,
    dispatched: after.dispatched - before.dispatched,
    rejected: after.rejected - before.rejected,
    queuedMsPerRequest: perRequestMs(after.waitSeconds - before.waitSeconds, after.waited - before.waited),
    seatMsPerRequest: perRequestMs(
      after.executionSeconds - before.executionSeconds,
      after.executed - before.executed,
    ),
    cpuSeconds: round(after.cpu - before.cpu, 2),
  };
}
