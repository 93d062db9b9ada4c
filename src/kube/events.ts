// The Kubernetes Events about a Job and its Pods (the Job controller's
// SuccessfulCreate/Completed, the scheduler's Scheduled, the kubelet's
// Pulled/Started/BackOff): what a person reads when a Job does not do what
// they expected. Oldest first.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import type { JobOperations } from './jobs.ts';

export interface JobEventRow {
  /** `Job/<name>` or `Pod/<name>`. */
  readonly object: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  readonly lastSeen: string;
}

interface WireEvents {
  readonly items: CoreV1Event[];
}

export async function jobEvents(
  client: KubeClient,
  jobs: Pick<JobOperations, 'pods'>,
  name: string,
  namespace: string,
  signal?: AbortSignal,
): Promise<JobEventRow[]> {
  const pods = await jobs.pods(name, namespace, signal);
  const names = [name, ...pods.map((p) => p.metadata?.name ?? '').filter((n) => n !== '')];
  const rows: JobEventRow[] = [];
  for (const involved of names) {
    const list = await client.call<WireEvents>(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      {
        query: { fieldSelector: `involvedObject.name=${involved}` },
        ...(signal !== undefined ? { signal } : {}),
      },
    );
    for (const e of list.items) rows.push(row(e));
  }
  return rows.sort((a, b) => a.lastSeen.localeCompare(b.lastSeen));
}

function row(e: CoreV1Event): JobEventRow {
  const when = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
  return {
    object: `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}`,
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? 1,
    lastSeen: when === undefined ? '' : new Date(when).toISOString(),
  };
}
