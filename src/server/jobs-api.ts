// The /v1 API: submit an item (JSON or CloudEvent) and get its Job's name and
// a status URL back (202); read one Job with its result; list Jobs by status;
// delete a Job; follow status changes as Server-Sent Events.
//
// Every request is authenticated first (nothing, not even route names, is
// told to a caller kjd does not know), then authorized for the verb it is
// (create, get, list, delete, watch) in the namespace it acts on: for a
// submit, the namespace the Job will be created in.
import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import type { V1Job } from '@kubernetes/client-node';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { stringify } from 'yaml';
import { bodyLimit } from 'hono/body-limit';
import type { Dispatcher, Route } from '../dispatch/dispatcher.ts';
import { jobState } from '../kube/job-status.ts';
import type { JobOperations } from '../kube/jobs.ts';
import {
  ANNOTATION_ID_SCOPE,
  ANNOTATION_REQUEST_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY_KJD,
} from '../kube/labels.ts';
import type { RedisResults } from '../tracking/results.ts';
import type { Authenticator, Caller } from './auth.ts';
import { readItem } from './cloudevents.ts';
import type { EarlyAuthentication } from './early-refusal.ts';
import type { EventHub } from './event-hub.ts';
import { mountDeadLetters, type RouteView } from './dead-letters-api.ts';
import {
  DEFAULT_EVENT_STREAM_LIMITS,
  eventStream,
  type EventStreamLimits,
  type StatsFeed,
} from './event-stream.ts';
import { mountJobLogs, type EventReader, type LogReader } from './job-logs-api.ts';
import { errorResponse, HttpError } from './http-errors.ts';
import { submit } from './submit.ts';

export interface JobsApiDeps {
  readonly dispatcher: Dispatcher;
  /** Routes whose source is HTTP; the first is the default. */
  readonly routes: readonly Route[];
  readonly jobs: JobOperations;
  readonly results: RedisResults;
  readonly events: EventHub;
  readonly auth: Authenticator;
  /** Authentication already decided in the request event (early-refusal.ts), if the server does that. */
  readonly early?: EarlyAuthentication;
  readonly maxBodyBytes: number;
  /** The namespace GET/DELETE/list use without ?namespace=. */
  readonly defaultNamespace: string;
  /** Every namespace kjd tracks Jobs in: what /v1/events can show. */
  readonly watchedNamespaces: readonly string[];
  readonly eventLimits?: EventStreamLimits;
  /** Every route (queue and HTTP), for /v1/routes and the dead-letter endpoints. */
  readonly routeViews?: readonly RouteView[];
  /** GET /v1/jobs/:name/logs, when given. */
  readonly logs?: LogReader;
  /** GET /v1/jobs/:name/events, when given (with logs). */
  readonly jobEvents?: EventReader;
  /** `event: stats` on /v1/events, when given. */
  readonly stats?: StatsFeed;
}

type Env = { Bindings: HttpBindings; Variables: { caller: Caller } };

const PHASES = new Set(['pending', 'running', 'suspended', 'succeeded', 'failed']);

export function jobsApi(d: JobsApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.onError(errorResponse);
  app.use('/v1/*', authenticateFirst(d));
  const namespaceOf = (c: Context<Env>) => c.req.query('namespace') ?? d.defaultNamespace;
  mountExtras(app, d);

  app.post(
    '/v1/jobs',
    bodyLimit({
      maxSize: d.maxBodyBytes,
      onError: () => {
        throw new HttpError(413, 'BODY_TOO_LARGE', `the body is larger than ${d.maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const route = routeFor(d.routes, c.req.query('route'));
      const namespace = targetNamespace(route, c.req.query('namespace'));
      await d.auth.authorize(c.get('caller'), 'create', namespace);
      return submit(c, d.dispatcher, route, namespace, await readItem(c), randomUUID);
    },
  );

  app.get('/v1/jobs/:name', async (c) => {
    const namespace = namespaceOf(c);
    await d.auth.authorize(c.get('caller'), 'get', namespace);
    const job = await d.jobs.get(c.req.param('name'), namespace);
    const summary = summarize(job);
    const idScope = job.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
    // The Job's state is the API server's to tell; its result is Redis's. Redis
    // unreachable (its commands time out) leaves the answer without a result, and says so.
    const read =
      summary.requestId === undefined
        ? undefined
        : await d.results.read(summary.requestId, idScope).then(
            (result) => ({ result }),
            (err: unknown) => ({
              resultError: `the results store cannot be read now: ${(err as Error).message}`,
            }),
          );
    return c.json({ ...summary, ...read, ...(c.req.query('full') === 'true' ? fullJob(job) : {}) });
  });

  app.get('/v1/jobs', async (c) => {
    const namespace = namespaceOf(c);
    await d.auth.authorize(c.get('caller'), 'list', namespace);
    const wanted = c.req.query('status')?.toLowerCase();
    if (wanted !== undefined && !PHASES.has(wanted)) {
      throw new HttpError(400, 'STATUS_INVALID', `status must be one of ${[...PHASES].join(', ')}`);
    }
    const items: ReturnType<typeof summarize>[] = [];
    for await (const job of d.jobs.listAll({
      namespace,
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`,
    })) {
      const s = summarize(job);
      if (wanted === undefined || s.phase.toLowerCase() === wanted) items.push(s);
    }
    return c.json({ items });
  });

  app.delete('/v1/jobs/:name', async (c) => {
    const namespace = namespaceOf(c);
    await d.auth.authorize(c.get('caller'), 'delete', namespace);
    const name = c.req.param('name');
    await d.jobs.delete(name, { namespace, propagation: 'Background' });
    return c.json({ deleted: name });
  });

  app.get('/v1/events', async (c) => {
    const caller = c.get('caller');
    const visible = new Set<string>();
    for (const ns of d.watchedNamespaces) if (await d.auth.allowed(caller, 'watch', ns)) visible.add(ns);
    if (visible.size === 0) {
      throw new HttpError(
        403,
        'FORBIDDEN',
        `${caller.user} may not watch jobs.batch in any namespace kjd serves (${d.watchedNamespaces.join(', ')})`,
      );
    }
    return eventStream(c, d.events, visible, d.eventLimits ?? DEFAULT_EVENT_STREAM_LIMITS, d.stats);
  });
  return app;
}

/** What the dashboard and `kjd dlq` use besides Jobs: routes, dead letters, a Job's logs and Events. */
function mountExtras(app: Hono<Env>, d: JobsApiDeps): void {
  mountDeadLetters(app, { routes: d.routeViews ?? [], auth: d.auth });
  if (d.logs !== undefined)
    mountJobLogs(app, {
      auth: d.auth,
      logs: d.logs,
      ...(d.jobEvents !== undefined ? { events: d.jobEvents } : {}),
      defaultNamespace: d.defaultNamespace,
    });
}

/** Every /v1 request: its caller, decided in the request event if the server did that, else now. */
function authenticateFirst(d: JobsApiDeps): MiddlewareHandler<Env> {
  return async (c, next) => {
    const address = c.env.incoming.socket.remoteAddress ?? 'unknown';
    const early = d.early?.take(c.env.incoming);
    c.set('caller', await (early ?? d.auth.authenticate(c.req.header('authorization'), address)));
    await next();
  };
}

function routeFor(routes: readonly Route[], name: string | undefined): Route {
  const route = name === undefined ? routes[0] : routes.find((r) => r.name === name);
  if (route === undefined) {
    const known = routes.map((r) => r.name).join(', ') || 'none';
    throw new HttpError(
      404,
      'ROUTE_NOT_FOUND',
      `no HTTP route ${name === undefined ? 'configured' : `"${name}"`} (HTTP routes: ${known})`,
    );
  }
  return route;
}

/**
 * Where a submitted item's Job is created: the route's namespace, or one of
 * the namespaces the route lets callers choose. Anything else is a 400, never
 * a Job created somewhere the caller did not ask for.
 */
function targetNamespace(route: Route, asked: string | undefined): string {
  if (asked === undefined || asked === route.namespace) return route.namespace;
  if (route.callerNamespaces?.includes(asked) === true) return asked;
  throw new HttpError(
    400,
    'NAMESPACE_MISMATCH',
    `route "${route.name}" creates Jobs in namespace "${route.namespace}"` +
      (route.callerNamespaces === undefined || route.callerNamespaces.length === 0
        ? ''
        : ` or one of ${route.callerNamespaces.join(', ')}`) +
      `, not "${asked}"`,
  );
}

function summarize(job: V1Job) {
  const s = jobState(job);
  const requestId = job.metadata?.annotations?.[ANNOTATION_REQUEST_ID];
  // A route's id scope is its name unless configured otherwise: what the dashboard filters by.
  const route = job.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
  const created = job.metadata?.creationTimestamp;
  return {
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    ...(requestId !== undefined ? { requestId } : {}),
    ...(route !== undefined ? { route } : {}),
    ...(created !== undefined ? { createdAt: new Date(created).toISOString() } : {}),
    ...s,
  };
}

/** ?full=true: the Job as the API server has it (the dashboard's YAML view), minus bookkeeping. */
function fullJob(job: V1Job): { job: V1Job; jobYaml: string } {
  const plain = withoutManagedFields(job);
  return { job: plain, jobYaml: stringify(plain) };
}

/** The Job as plain data, without metadata.managedFields (long, and of no use to a reader). */
function withoutManagedFields(job: V1Job): V1Job {
  const plain = JSON.parse(JSON.stringify(job)) as V1Job;
  if (plain.metadata !== undefined) delete plain.metadata.managedFields;
  return plain;
}
