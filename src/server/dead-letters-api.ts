// /v1/routes and each queue route's dead letters, on the same app as the Jobs
// API (its caller is already authenticated). Every request is authorized as
// the Jobs call it amounts to, in the route's namespace: reading the list is
// `list`, one entry `get`, a redrive `create` (it makes a Job), a delete
// `delete`. A route the caller may not `list` in is left out of /v1/routes.
import type { Context, Hono } from 'hono';
import { MAX_REDRIVE_ALL, type RouteDeadLetters } from '../deadletter/index.ts';
import type { Authenticator, Caller, JobVerb } from './auth.ts';
import { HttpError } from './http-errors.ts';

/** What /v1/routes tells about one route. */
export interface RouteView {
  readonly name: string;
  readonly namespace: string;
  readonly kind: 'redis-list' | 'redis-stream' | 'http';
  /** Queue routes only. */
  readonly deadLetters?: RouteDeadLetters;
  /** Items waiting in the queue (queue routes). */
  readonly depth?: () => Promise<number>;
  /** Items being turned into Jobs now. */
  readonly inFlight: () => number;
}

export interface RouteCounts {
  readonly route: string;
  readonly namespace: string;
  readonly kind: RouteView['kind'];
  readonly queued: number | null;
  readonly inFlight: number;
  readonly deadLettered: number | null;
}

export interface DeadLettersApiDeps {
  readonly routes: readonly RouteView[];
  readonly auth: Authenticator;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

type Env = { Variables: { caller: Caller } };

export function mountDeadLetters<E extends Env>(app: Hono<E>, d: DeadLettersApiDeps): void {
  app.get('/v1/routes', async (c) => {
    const caller = c.get('caller') as Caller;
    const items: RouteCounts[] = [];
    for (const r of d.routes)
      if (await d.auth.allowed(caller, 'list', r.namespace)) items.push(await countsOf(r));
    return c.json({ items });
  });

  const dead = async (c: Context<E>, verb: JobVerb): Promise<RouteDeadLetters> => {
    const name = c.req.param('route') ?? '';
    const route = d.routes.find((r) => r.name === name);
    // One answer for "no such route" and "no such route you may see": route names are not told.
    if (route === undefined) throw new HttpError(404, 'ROUTE_NOT_FOUND', `no route "${name}"`);
    await d.auth.authorize(c.get('caller'), verb, route.namespace);
    if (route.deadLetters === undefined)
      throw new HttpError(
        404,
        'NO_DEAD_LETTERS',
        `route "${name}" takes items over HTTP: refused items are answered to their caller, never dead-lettered`,
      );
    return route.deadLetters;
  };

  app.get('/v1/routes/:route/dead-letters', async (c) => {
    const letters = await dead(c, 'list');
    const page = await letters.list(limitOf(c.req.query('limit')));
    return c.json({
      route: letters.route.name,
      key: letters.key,
      total: page.total,
      items: page.items.map((e) => ({ ...e, jobName: letters.jobNameFor(e.requestId) })),
    });
  });

  app.get('/v1/routes/:route/dead-letters/:id', async (c) => {
    const letters = await dead(c, 'get');
    const entry = await letters.get(c.req.param('id'));
    if (entry === undefined) throw notFound(c.req.param('id'));
    return c.json({ ...entry, jobName: letters.jobNameFor(entry.requestId) });
  });

  // Before /:id/redrive: "redrive" here is the action on every entry, not an id.
  app.post('/v1/routes/:route/dead-letters/redrive', async (c) => {
    const letters = await dead(c, 'create');
    const outcomes = await letters.redriveAll(c.req.raw.signal);
    return c.json({ items: outcomes, limit: MAX_REDRIVE_ALL });
  });

  app.post('/v1/routes/:route/dead-letters/:id/redrive', async (c) => {
    const letters = await dead(c, 'create');
    const outcome = await letters.redrive(c.req.param('id'), c.req.raw.signal);
    if (outcome.outcome === 'not-found') throw notFound(outcome.id);
    return c.json(outcome);
  });

  app.delete('/v1/routes/:route/dead-letters/:id', async (c) => {
    const letters = await dead(c, 'delete');
    const id = c.req.param('id');
    if (!(await letters.delete(id))) throw notFound(id);
    return c.json({ deleted: id });
  });
}

/** Counts of one route now; a Redis that cannot answer gives null, not an error page. */
export async function countsOf(r: RouteView): Promise<RouteCounts> {
  const orNull = (p: Promise<number> | undefined) =>
    p === undefined ? Promise.resolve(null) : p.catch(() => null);
  const [queued, deadLettered] = await Promise.all([orNull(r.depth?.()), orNull(r.deadLetters?.count())]);
  return {
    route: r.name,
    namespace: r.namespace,
    kind: r.kind,
    queued,
    inFlight: r.inFlight(),
    deadLettered,
  };
}

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    throw new HttpError(400, 'LIMIT_INVALID', `limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

const notFound = (id: string | undefined) =>
  new HttpError(404, 'DEAD_LETTER_NOT_FOUND', `no dead letter "${id ?? ''}" (deleted or redriven already?)`);
