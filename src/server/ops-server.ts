// /healthz (the process is alive), /readyz (the API server is reachable and
// the watch cache synced, Redis connected, every permission granted) and
// /metrics (Prometheus text). Handlers never throw: readiness is data.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono, type Env } from 'hono';
import type { Registry } from 'prom-client';

export interface ReadyCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ReadyReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadyCheck>>;
}

export function opsApp<ApiEnv extends Env>(deps: {
  ready: () => ReadyReport;
  registry: Registry;
  api?: Hono<ApiEnv>;
  /** The dashboard's files at /ui. */
  ui?: Hono;
}): Hono {
  const app = new Hono();
  if (deps.ui !== undefined) app.route('/', deps.ui);
  if (deps.api !== undefined) app.route('/', deps.api);
  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', (c) => {
    const report = deps.ready();
    return c.json(report, report.ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.text(await deps.registry.metrics(), 200, { 'content-type': deps.registry.contentType }),
  );
  return app;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on host:port (port 0: any free one) and resolves once listening.
 * `before` sees each request first and may answer it itself (true).
 */
export async function listen(
  app: Hono,
  listenOn: string,
  before?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<OpsServer> {
  const idx = listenOn.lastIndexOf(':');
  const hostname = listenOn.slice(0, idx);
  const port = Number(listenOn.slice(idx + 1));
  const hono = getRequestListener(app.fetch);
  const server = await new Promise<Server>((resolveListening, reject) => {
    const s = createServer((req, res) => {
      if (before?.(req, res) !== true) void hono(req, res);
    });
    s.once('error', reject);
    s.listen(port, hostname, () => {
      resolveListening(s);
    });
  });
  const address = server.address();
  const actualPort = address !== null && typeof address === 'object' ? address.port : port;
  return {
    url: `http://${hostname}:${actualPort}`,
    close: () =>
      new Promise<void>((res) => {
        server.close(() => {
          res();
        });
        server.closeAllConnections();
      }),
  };
}
