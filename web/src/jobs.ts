// The Jobs table: filtered by route, state and age, newest first; a Job's
// name opens its detail, and an unfinished Job can be cancelled (deleted with
// its Pods, as DELETE /v1/jobs/:name does).
import { age, byId, h } from './dom.ts';
import type { JobSummary, Store } from './store.ts';

const MAX_ROWS = 200;

export interface JobActions {
  open(job: JobSummary): void;
  cancel(job: JobSummary): void;
}

export function renderJobs(store: Store, actions: JobActions): void {
  const route = byId<HTMLSelectElement>('filter-route').value;
  const state = byId<HTMLSelectElement>('filter-state').value;
  const maxAge = Number(byId<HTMLSelectElement>('filter-age').value || Infinity);
  const now = Date.now();
  const shown = [...store.jobs.values()]
    .filter((j) => route === '' || j.route === route)
    .filter((j) => state === '' || j.phase === state)
    .filter((j) => j.createdAt === undefined || (now - Date.parse(j.createdAt)) / 1000 <= maxAge)
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))
    .slice(0, MAX_ROWS);
  const body = byId<HTMLTableElement>('jobs').tBodies[0];
  body?.replaceChildren(
    ...shown.map((j) =>
      h(
        'tr',
        { 'data-job': j.name },
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                actions.open(j);
              },
            },
            j.name,
          ),
        ),
        h('td', {}, j.route ?? ''),
        h('td', { class: `phase-${j.phase}` }, j.reason === undefined ? j.phase : `${j.phase} (${j.reason})`),
        h('td', {}, j.requestId ?? ''),
        h('td', {}, age(j.createdAt, now)),
        h(
          'td',
          {},
          j.phase === 'Succeeded' || j.phase === 'Failed'
            ? ''
            : h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'aria-label': `Cancel ${j.name}`,
                  onclick: () => {
                    actions.cancel(j);
                  },
                },
                'Cancel',
              ),
        ),
      ),
    ),
  );
}

/** The route filter's options: the routes the caller may see. */
export function setRouteOptions(
  select: HTMLSelectElement,
  routes: readonly string[],
  anyLabel?: string,
): void {
  const current = select.value;
  const options = [
    ...(anyLabel !== undefined ? [h('option', { value: '' }, anyLabel)] : []),
    ...routes.map((r) => h('option', { value: r }, r)),
  ];
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}
