// The routes table (counts, rates, latency charts) and the pushback panel.
import { sparkline } from './chart.ts';
import { byId, h } from './dom.ts';
import type { Pushback, Store } from './store.ts';

const fmt = (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits));
const lastOf = (s: readonly number[] | undefined) => s?.at(-1) ?? 0;

export function renderOverview(store: Store): void {
  const body = byId<HTMLTableElement>('routes').tBodies[0];
  if (body === undefined) return;
  const rows = (store.last?.routes ?? []).map((r) => {
    const jobs = store.jobsOf(r.route);
    const count = (phase: string) => jobs.filter((j) => j.phase === phase).length;
    const active = jobs.filter((j) => j.phase === 'Running' || j.phase === 'Pending').length;
    const hist = store.history.get(r.route);
    const cell = (v: string, name: string) => h('td', { class: 'num', 'data-count': name }, v);
    return h(
      'tr',
      { 'data-route': r.route },
      h('th', { scope: 'row' }, r.route),
      h('td', {}, r.namespace),
      cell(fmt(r.queued), 'queued'),
      cell(fmt(r.inFlight), 'inFlight'),
      cell(String(active), 'active'),
      cell(String(count('Succeeded')), 'succeeded'),
      cell(String(count('Failed')), 'failed'),
      cell(fmt(r.deadLettered), 'deadLettered'),
      h('td', { class: 'num' }, fmt(lastOf(hist?.itemsPerSecond), 1)),
      h('td', { class: 'num' }, fmt(lastOf(hist?.jobsPerSecond), 1)),
      chartCell(hist?.enqueueToJobMs, `enqueue to Job, ${r.route}`),
      chartCell(hist?.jobToFinishedMs, `Job created to finished, ${r.route}`),
    );
  });
  body.replaceChildren(...rows);
  renderPushback(store);
}

function chartCell(series: readonly number[] | undefined, what: string): HTMLTableCellElement {
  const points = series ?? [];
  const last = lastOf(points);
  const label = `${what}: ${last.toFixed(0)} ms (mean over the last 2 s)`;
  return h('td', {}, sparkline(points.length > 0 ? points : [0], label), ` ${last.toFixed(0)} ms`);
}

function pacingText(p: Pushback['pacing']): string {
  switch (p.mode) {
    case 'adaptive':
      return `adaptive: ${p.limit} requests in flight`;
    case 'fixed':
      return `fixed: ${p.qps} requests/s, burst ${p.burst}`;
    case 'none':
      return 'none';
  }
}

function renderPushback(store: Store): void {
  const p = store.last?.pushback;
  const dl = byId<HTMLDListElement>('pushback');
  if (p === undefined) return;
  const items: [string, string][] = [
    ['Requests to the API server', `${store.apiRate.requests.toFixed(1)}/s (${p.requests} in all)`],
    ['Answered 429 (Too Many Requests)', `${store.apiRate.throttled.toFixed(1)}/s (${p.throttled} in all)`],
    [
      'Last Retry-After',
      p.lastRetryAfterMs === null ? 'none' : `${(p.lastRetryAfterMs / 1000).toFixed(1)} s`,
    ],
    ['Last 429', p.lastThrottledAt === null ? 'never' : new Date(p.lastThrottledAt).toLocaleTimeString()],
    ["Pacing (kjd's own limit)", pacingText(p.pacing)],
  ];
  dl.replaceChildren(...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
