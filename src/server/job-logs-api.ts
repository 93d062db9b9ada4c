// GET /v1/jobs/:name/logs: a Job's container logs as plain text, streamed
// (?follow=true keeps it open while the container runs: the dashboard tails
// it). Authorized as reading them from the API server directly would be:
// `get` on `pods/log` in the Job's namespace.
//
// GET /v1/jobs/:name/events: the Kubernetes Events about the Job and its Pods,
// authorized as `list` on `events` in the Job's namespace.
import { PassThrough, Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { JobEventRow } from '../kube/events.ts';
import type { Authenticator, Caller } from './auth.ts';
import { HttpError } from './http-errors.ts';

export interface LogReader {
  (
    name: string,
    namespace: string,
    out: NodeJS.WritableStream,
    options: { follow: boolean; tailLines?: number; signal: AbortSignal },
  ): Promise<void>;
}

export type EventReader = (name: string, namespace: string, signal: AbortSignal) => Promise<JobEventRow[]>;

type Env = { Variables: { caller: Caller } };

export function mountJobLogs<E extends Env>(
  app: Hono<E>,
  d: { auth: Authenticator; logs: LogReader; events?: EventReader; defaultNamespace: string },
): void {
  const events = d.events;
  if (events !== undefined)
    app.get('/v1/jobs/:name/events', async (c) => {
      const namespace = c.req.query('namespace') ?? d.defaultNamespace;
      await d.auth.authorize(c.get('caller'), 'list', namespace, { group: '', resource: 'events' });
      return c.json({ items: await events(c.req.param('name'), namespace, c.req.raw.signal) });
    });

  app.get('/v1/jobs/:name/logs', async (c) => {
    const namespace = c.req.query('namespace') ?? d.defaultNamespace;
    await d.auth.authorize(c.get('caller'), 'get', namespace, {
      group: '',
      resource: 'pods',
      subresource: 'log',
    });
    const tail = c.req.query('tailLines');
    const tailLines = tail === undefined ? undefined : Number(tail);
    if (tailLines !== undefined && !(Number.isInteger(tailLines) && tailLines > 0))
      throw new HttpError(400, 'TAIL_INVALID', 'tailLines must be a positive integer');
    const out = new PassThrough();
    // The first failure (no Pods yet, a 4xx from the API server) becomes the
    // answer; one after text went out ends the stream with a last line.
    const done = d.logs(c.req.param('name'), namespace, out, {
      follow: c.req.query('follow') === 'true',
      ...(tailLines !== undefined ? { tailLines } : {}),
      signal: c.req.raw.signal,
    });
    const first = await Promise.race([
      done.then(() => 'ended' as const),
      new Promise<'data'>((resolve) => {
        out.once('readable', () => {
          resolve('data');
        });
      }),
    ]);
    void done.then(
      () => out.end(),
      (err: unknown) => out.end(`\n[kjd: the log stream ended: ${(err as Error).message}]\n`),
    );
    if (first === 'ended') out.end();
    return new Response(Readable.toWeb(out) as ReadableStream, {
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  });
}
