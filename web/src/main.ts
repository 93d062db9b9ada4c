// The dashboard: sign in with a token (kept in sessionStorage, sent as a
// Bearer header), load what the token may see, then stay current from the
// event stream (Job changes and pushed stats): no polling loop.
import { Api, ApiError } from './api.ts';
import { closeDetail, openDetail } from './detail.ts';
import { DeadLetters } from './dead-letters.ts';
import { byId } from './dom.ts';
import { renderJobs, setRouteOptions } from './jobs.ts';
import { renderOverview } from './overview.ts';
import { readEvents } from './sse.ts';
import { Store, type JobSummary, type LiveSnapshot, type RouteLive } from './store.ts';

const TOKEN_KEY = 'kjd.token';

interface Session {
  readonly api: Api;
  readonly store: Store;
  readonly dead: DeadLetters;
  readonly stop: AbortController;
}

let session: Session | undefined;

function status(text: string): void {
  byId('status').textContent = text;
}

async function signIn(token: string): Promise<void> {
  const api = new Api(token);
  const { items } = await api.json<{ items: RouteLive[] }>('GET', '/v1/routes');
  sessionStorage.setItem(TOKEN_KEY, token);
  const s: Session = { api, store: new Store(), dead: new DeadLetters(api), stop: new AbortController() };
  session = s;
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = false;
  const names = items.map((r) => r.route);
  setRouteOptions(byId('filter-route'), names, 'any');
  setRouteOptions(
    byId('dead-route'),
    items.filter((r) => r.kind !== 'http').map((r) => r.route),
  );
  for (const ns of new Set(items.map((r) => r.namespace))) {
    const jobs = await api.json<{ items: JobSummary[] }>(
      'GET',
      `/v1/jobs?namespace=${encodeURIComponent(ns)}`,
    );
    for (const j of jobs.items) s.store.upsert(j);
  }
  render();
  await s.dead.refresh();
  if (items.length === 0) {
    status('signed in: this token may see no route');
    return;
  }
  void follow(s);
}

/** The event stream, reconnected with backoff until sign-out. */
async function follow(s: Session): Promise<void> {
  let backoffMs = 500;
  // A function: the signal changes across the awaits below.
  const stopped = () => s.stop.signal.aborted;
  while (!stopped()) {
    try {
      status('live');
      await readEvents(
        '/v1/events',
        s.api.headers(),
        (e) => {
          onEvent(s, e.event, e.data);
        },
        s.stop.signal,
      );
      backoffMs = 500;
    } catch {
      if (stopped()) return;
    }
    status('reconnecting…');
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(10_000, backoffMs * 2);
  }
}

function onEvent(s: Session, event: string, data: string): void {
  if (event === 'job') s.store.upsert(JSON.parse(data) as JobSummary);
  else if (event === 'stats') {
    const before = s.store.last?.routes.find((r) => r.route === s.dead.route)?.deadLettered;
    s.store.stats(JSON.parse(data) as LiveSnapshot);
    const after = s.store.last?.routes.find((r) => r.route === s.dead.route)?.deadLettered;
    if (after !== before) void s.dead.refresh();
  } else if (event === 'overflow') s.stop.abort();
  render();
}

let scheduled = false;
function render(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const s = session;
    if (s === undefined) return;
    renderOverview(s.store);
    renderJobs(s.store, {
      open: (job) =>
        void openDetail(s.api, job).catch((err: unknown) => {
          status(`cannot open ${job.name}: ${(err as Error).message}`);
        }),
      cancel: (job) =>
        void s.api
          .json(
            'DELETE',
            `/v1/jobs/${encodeURIComponent(job.name)}?namespace=${encodeURIComponent(job.namespace)}`,
          )
          .then(
            () => {
              status(`${job.name} cancelled`);
            },
            (err: unknown) => {
              status(`cannot cancel ${job.name}: ${(err as Error).message}`);
            },
          ),
    });
  });
}

function signOut(): void {
  session?.stop.abort();
  session = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  closeDetail();
  byId('login').hidden = false;
  byId('app').hidden = true;
  byId('logout').hidden = true;
  status('signed out');
}

function boot(): void {
  const form = byId<HTMLFormElement>('login');
  const error = byId('login-error');
  const attempt = (token: string) =>
    signIn(token).catch((err: unknown) => {
      signOut();
      error.textContent =
        err instanceof ApiError && err.status === 401
          ? 'This token is not accepted.'
          : `Cannot sign in: ${(err as Error).message}`;
    });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    const input = byId<HTMLInputElement>('token');
    void attempt(input.value.trim());
    input.value = '';
  });
  byId('logout').addEventListener('click', signOut);
  byId('detail-close').addEventListener('click', closeDetail);
  byId('job-filters').addEventListener('change', render);
  byId('dead-route').addEventListener('change', () => void session?.dead.refresh());
  byId('redrive-all').addEventListener('click', () => void session?.dead.redriveAll());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved !== null) void attempt(saved);
}

boot();
