// Authentication decided in Node's own request event, before a request is
// routed or turned into a Fetch Request. A refusal that needs no I/O (no
// token, a token refused lately, an address over its budget of new tokens) is
// answered there with a plain write: under a flood of bogus tokens that is
// nearly all kjd does, and routing each one through Hono cost about as much
// again as the HTTP exchange itself. Whatever is not refused at once (a
// cached caller, a review under way) is handed to the /v1 middleware, so each
// request is authenticated exactly once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator, Caller } from './auth.ts';
import { HttpError } from './http-errors.ts';

export interface EarlyAuthentication {
  /** For the server's request event: true when the request has been answered (refused). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** What handle() decided for a request it let through, once; undefined if it never saw it. */
  take(req: IncomingMessage): Caller | Promise<Caller> | undefined;
}

export function earlyAuthentication(auth: Authenticator, pathPrefix = '/v1/'): EarlyAuthentication {
  const decided = new WeakMap<IncomingMessage, Caller | Promise<Caller>>();
  return {
    handle(req, res) {
      if (req.url?.startsWith(pathPrefix) !== true) return false;
      let admitted: Caller | Promise<Caller>;
      try {
        admitted = auth.admit(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        writeRefusal(res, err);
        return true;
      }
      // The middleware awaits it moments later; until then a refusal must not count as unhandled.
      if (admitted instanceof Promise) admitted.catch(() => undefined);
      decided.set(req, admitted);
      return false;
    },
    take(req) {
      const admitted = decided.get(req);
      decided.delete(req);
      return admitted;
    },
  };
}

/** The same answer errorResponse() gives for an HttpError. */
function writeRefusal(res: ServerResponse, err: HttpError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : {}),
  });
  res.end(body);
}
