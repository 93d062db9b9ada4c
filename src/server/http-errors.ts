// The one place errors become HTTP responses: `{ "error": { "code", "message" } }`
// with the status a client can act on. Handlers throw; they never build error
// responses themselves.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isKjdError } from '../errors.ts';

/** An error whose HTTP status and code the handler decided. */
export class HttpError extends HTTPException {
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: ContentfulStatusCode, code: string, message: string, retryAfterSeconds?: number) {
    super(status, { message });
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Permanent errors whose status is not the default 422. */
const STATUS_BY_CODE: Readonly<Record<string, ContentfulStatusCode>> = {
  ITEM_NOT_JSON: 400,
  CLOUDEVENT_INVALID: 400,
  KUBE_NOT_FOUND: 404,
  KUBE_CONFLICT: 409,
  JOB_NAME_CONFLICT: 409,
};

export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof HttpError) {
    if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(err.retryAfterSeconds));
    return c.json({ error: { code: err.code, message: err.message } }, err.status);
  }
  if (err instanceof HTTPException) {
    // hono's own (body limit -> 413)
    const code = err.status === 413 ? 'BODY_TOO_LARGE' : 'HTTP_ERROR';
    return c.json({ error: { code, message: err.message || 'request refused' } }, err.status);
  }
  if (isKjdError(err)) {
    if (err.category === 'permanent') {
      return c.json({ error: { code: err.code, message: err.message } }, STATUS_BY_CODE[err.code] ?? 422);
    }
    c.header('Retry-After', '5');
    return c.json({ error: { code: err.code, message: err.message } }, 503);
  }
  return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
}
