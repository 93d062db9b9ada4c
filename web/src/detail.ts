// One Job: its summary, conditions, what was rendered into it (parameters as
// the container sees them), the Job as YAML-like JSON, its result, and its
// logs, tailed (follow=true) until the detail is closed.
import type { Api } from './api.ts';
import { byId, h } from './dom.ts';
import type { JobSummary } from './store.ts';

interface FullJob {
  readonly result?: Record<string, string>;
  readonly resultError?: string;
  readonly jobYaml?: string;
  readonly job?: {
    metadata?: { annotations?: Record<string, string> };
    spec?: {
      template?: {
        spec?: {
          containers?: { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] }[];
        };
      };
    };
    status?: {
      conditions?: {
        type: string;
        status: string;
        reason?: string;
        message?: string;
        lastTransitionTime?: string;
      }[];
    };
  };
}

let tail: AbortController | undefined;

export async function openDetail(api: Api, job: JobSummary): Promise<void> {
  closeDetail();
  const section = byId('detail');
  const body = byId<HTMLDivElement>('detail-body');
  byId<HTMLHeadingElement>('detail-title').textContent = `Job ${job.name}`;
  section.hidden = false;
  byId<HTMLHeadingElement>('detail-title').focus();
  const q = `namespace=${encodeURIComponent(job.namespace)}`;
  const full = await api.json<FullJob>('GET', `/v1/jobs/${encodeURIComponent(job.name)}?${q}&full=true`);
  const container = firstContainer(full);
  const events = h('ul', { id: 'events' }, h('li', {}, 'loading…'));
  const logs = h('pre', { id: 'logs', tabindex: '0', 'aria-label': 'Container logs' }, '');
  body.replaceChildren(
    h(
      'dl',
      {},
      h('dt', {}, 'Request id'),
      h('dd', {}, job.requestId ?? ''),
      h('dt', {}, 'Route'),
      h('dd', {}, job.route ?? ''),
      h('dt', {}, 'State'),
      h('dd', {}, job.phase),
    ),
    h('h3', {}, 'Parameters (as rendered into the container)'),
    h(
      'pre',
      { tabindex: '0', 'aria-label': 'Parameters as rendered' },
      JSON.stringify({ command: container?.command, args: container?.args, env: container?.env }, null, 2),
    ),
    h('h3', {}, 'Conditions'),
    h(
      'ul',
      {},
      ...(full.job?.status?.conditions ?? []).map((c) =>
        h(
          'li',
          {},
          `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''} (${c.lastTransitionTime ?? ''})`,
        ),
      ),
    ),
    h('h3', {}, 'Events'),
    events,
    h('h3', {}, 'Result'),
    h(
      'pre',
      { id: 'result', tabindex: '0', 'aria-label': 'Result' },
      full.result !== undefined
        ? JSON.stringify(full.result, null, 2)
        : (full.resultError ?? 'no result yet'),
    ),
    h('h3', {}, 'Logs'),
    logs,
    h('h3', {}, 'The Job (YAML)'),
    h(
      'pre',
      { id: 'job-yaml', tabindex: '0', 'aria-label': 'The Job as the API server has it' },
      full.jobYaml ?? '',
    ),
  );
  void tailLogs(api, job, logs);
  void listEvents(api, job, q, events);
}

interface EventRow {
  readonly object: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  readonly lastSeen: string;
}

async function listEvents(api: Api, job: JobSummary, q: string, out: HTMLUListElement): Promise<void> {
  try {
    const { items } = await api.json<{ items: EventRow[] }>(
      'GET',
      `/v1/jobs/${encodeURIComponent(job.name)}/events?${q}`,
    );
    out.replaceChildren(
      ...(items.length === 0 ? [h('li', {}, 'none')] : []),
      ...items.map((e) =>
        h(
          'li',
          {},
          `${e.lastSeen} ${e.object} ${e.type} ${e.reason}: ${e.message}${e.count > 1 ? ` (×${e.count})` : ''}`,
        ),
      ),
    );
  } catch (err) {
    out.replaceChildren(h('li', {}, `(no events: ${(err as Error).message})`));
  }
}

function firstContainer(full: FullJob) {
  return full.job?.spec?.template?.spec?.containers?.[0];
}

async function tailLogs(api: Api, job: JobSummary, out: HTMLPreElement): Promise<void> {
  const mine = new AbortController();
  tail = mine;
  const path = `/v1/jobs/${encodeURIComponent(job.name)}/logs?namespace=${encodeURIComponent(job.namespace)}&follow=true`;
  try {
    const res = await api.raw('GET', path, mine.signal);
    const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) return;
      out.append(chunk.value);
    }
  } catch (err) {
    // Closed meanwhile (`tail` may already be another Job's, or none).
    if (mine.signal.aborted) return;
    out.append(`(no logs: ${(err as Error).message})`);
  }
}

export function closeDetail(): void {
  tail?.abort();
  tail = undefined;
  byId('detail').hidden = true;
}
