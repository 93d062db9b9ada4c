// The /v1 API: submit an item (JSON or CloudEvent) and get its Job's name and
// a status URL back (202); read one Job with its result; list Jobs by status;
// delete a Job; follow status changes as Server-Sent Events.
import { randomUUID } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { Dispatcher, Route } from '../dispatch/dispatcher.ts';
import type { KubeClient } from '../kube/client.ts';
import { jobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import {
  ANNOTATION_ID_SCOPE,
  ANNOTATION_REQUEST_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY_KJD,
} from '../kube/labels.ts';
import type { RedisResults } from '../tracking/results.ts';
import { authMiddleware, type AuthSettings } from './auth.ts';
import { readItem } from './cloudevents.ts';
import type { EventHub } from './event-hub.ts';
import { errorResponse, HttpError } from './http-errors.ts';

export interface JobsApiDeps {
  readonly dispatcher: Dispatcher;
  /** Routes whose source is HTTP; the first is the default. */
  readonly routes: readonly Route[];
  readonly jobs: JobOperations;
  readonly client: KubeClient;
  readonly results: RedisResults;
  readonly events: EventHub;
  readonly auth: AuthSettings;
  readonly maxBodyBytes: number;
  /** The namespace GET/DELETE/list use without ?namespace=. */
  readonly defaultNamespace: string;
}

const PHASES = new Set(['pending', 'running', 'suspended', 'succeeded', 'failed']);

export function jobsApi(d: JobsApiDeps): Hono {
  const app = new Hono();
  app.onError(errorResponse);
  const routeFor = (name: string | undefined): Route => {
    const route = name === undefined ? d.routes[0] : d.routes.find((r) => r.name === name);
    if (route === undefined) {
      const known = d.routes.map((r) => r.name).join(', ') || 'none';
      throw new HttpError(
        404,
        'ROUTE_NOT_FOUND',
        `no HTTP route ${name === undefined ? 'configured' : `"${name}"`} (HTTP routes: ${known})`,
      );
    }
    return route;
  };
  const namespaceOf = (q: (k: string) => string | undefined) =>
    q('namespace') ??
    (q('route') !== undefined
      ? routeFor(q('route')).namespace
      : (d.routes[0]?.namespace ?? d.defaultNamespace));
  app.use('/v1/*', authMiddleware(d.auth, d.client, namespaceOf));

  app.post(
    '/v1/jobs',
    bodyLimit({
      maxSize: d.maxBodyBytes,
      onError: () => {
        throw new HttpError(413, 'BODY_TOO_LARGE', `the body is larger than ${d.maxBodyBytes} bytes`);
      },
    }),
    (c) => submit(c, d, routeFor(c.req.query('route'))),
  );

  app.get('/v1/jobs/:name', async (c) => {
    const job = await d.jobs.get(
      c.req.param('name'),
      namespaceOf((k) => c.req.query(k)),
    );
    const summary = summarize(job);
    const idScope = job.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
    const result =
      summary.requestId === undefined ? undefined : await d.results.read(summary.requestId, idScope);
    return c.json({ ...summary, ...(result !== undefined ? { result } : {}) });
  });

  app.get('/v1/jobs', async (c) => {
    const wanted = c.req.query('status')?.toLowerCase();
    if (wanted !== undefined && !PHASES.has(wanted)) {
      throw new HttpError(400, 'STATUS_INVALID', `status must be one of ${[...PHASES].join(', ')}`);
    }
    const items: ReturnType<typeof summarize>[] = [];
    for await (const job of d.jobs.listAll({
      namespace: namespaceOf((k) => c.req.query(k)),
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`,
    })) {
      const s = summarize(job);
      if (wanted === undefined || s.phase.toLowerCase() === wanted) items.push(s);
    }
    return c.json({ items });
  });

  app.delete('/v1/jobs/:name', async (c) => {
    const name = c.req.param('name');
    await d.jobs.delete(name, { namespace: namespaceOf((k) => c.req.query(k)), propagation: 'Background' });
    return c.json({ deleted: name });
  });

  app.get('/v1/events', (c) => eventStream(c, d.events));
  return app;
}

/** One item in, one Job out: 202 with the Job's name and where to follow it. */
async function submit(c: Context, d: JobsApiDeps, route: Route): Promise<Response> {
  if (d.dispatcher.capacity <= 0)
    throw new HttpError(503, 'AT_CAPACITY', 'kjd is at maxActiveJobs; retry later', 5);
  const item = await readItem(c);
  const requestId = item.id ?? `http/${randomUUID()}`;
  const outcome = await d.dispatcher.submit(
    route,
    { requestId, payload: JSON.stringify(item.payload), attempts: 1, receivedAtMs: Date.now() },
    c.req.raw.signal,
  );
  if (outcome.kind === 'dead')
    throw new HttpError(outcome.code === 'ITEM_NOT_JSON' ? 400 : 422, outcome.code, outcome.reason);
  if (outcome.kind === 'abandoned')
    throw new HttpError(503, 'STOPPING', 'kjd is stopping; retry with the same id', 5);
  if (outcome.kind === 'held')
    throw new HttpError(503, outcome.error.code, `${outcome.error.message}; retry with the same id`, 5);
  const name = outcome.kind === 'done' ? outcome.jobName : (outcome.job.metadata?.name ?? '');
  const existed = outcome.kind === 'done' || outcome.existed;
  const status = `/v1/jobs/${name}?namespace=${encodeURIComponent(route.namespace)}`;
  c.header('Location', status);
  return c.json({ jobName: name, namespace: route.namespace, requestId, existed, status }, 202);
}

/** Status changes as Server-Sent Events, with a comment every 15 s to keep proxies from closing the stream. */
function eventStream(c: Context, events: EventHub): Response {
  return streamSSE(c, async (stream) => {
    let id = 0;
    const unsubscribe = events.subscribe((e) => {
      void stream.writeSSE({ event: 'job', id: String(++id), data: JSON.stringify(e) });
    });
    stream.onAbort(() => {
      unsubscribe();
    });
    const open = () => !stream.aborted;
    while (open()) {
      await stream.sleep(15_000);
      if (open()) await stream.write(': keep-alive\n\n');
    }
    unsubscribe();
  });
}

function summarize(job: V1Job) {
  const s = jobState(job);
  const requestId = job.metadata?.annotations?.[ANNOTATION_REQUEST_ID];
  return {
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    ...(requestId !== undefined ? { requestId } : {}),
    ...s,
  };
}
