// Items as CloudEvents (v1.0 HTTP binding): structured mode (the whole event
// is the JSON body, `application/cloudevents+json`) or binary mode (`ce-*`
// headers, the body is the data). The request id is `<source>/<id>`: the spec
// makes the pair unique.
import type { Context } from 'hono';
import { checkItemLimits } from '../dispatch/item-limits.ts';
import { HttpError } from './http-errors.ts';

export interface IncomingItem {
  /** The request id, when the caller gave one. */
  readonly id: string | undefined;
  /** The parameter values (and anything else the producer sent). */
  readonly payload: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function invalid(message: string): HttpError {
  return new HttpError(400, 'CLOUDEVENT_INVALID', message);
}

/** What a body may hold before it is parsed: JSON nested past this costs the parser its stack. */
const BODY_LIMITS = { maxDepth: 64, maxEntries: 100_000 } as const;

export async function readItem(c: Context): Promise<IncomingItem> {
  const type = c.req.header('content-type') ?? '';
  const text = await c.req.text();
  try {
    checkItemLimits(text, { maxBytes: Number.MAX_SAFE_INTEGER, ...BODY_LIMITS });
  } catch (err) {
    throw new HttpError(400, 'ITEM_TOO_LARGE', (err as Error).message);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'ITEM_NOT_JSON', `the body is not JSON: ${(err as Error).message}`);
  }
  if (type.startsWith('application/cloudevents+json')) {
    if (!isObject(body)) throw invalid('a structured CloudEvent must be a JSON object');
    return fromEvent(body.specversion, body.id, body.source, body.data);
  }
  const ceId = c.req.header('ce-id');
  if (ceId !== undefined)
    return fromEvent(c.req.header('ce-specversion'), ceId, c.req.header('ce-source'), body);
  if (!isObject(body))
    throw new HttpError(400, 'ITEM_NOT_JSON', 'the item must be a JSON object of parameter values');
  const id = body.id;
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) {
    throw new HttpError(400, 'ITEM_ID_INVALID', '`id` must be a string or an integer');
  }
  return { id: id === undefined ? undefined : String(id), payload: body };
}

function fromEvent(specversion: unknown, id: unknown, source: unknown, data: unknown): IncomingItem {
  if (specversion !== '1.0') throw invalid('specversion must be "1.0"');
  if (typeof id !== 'string' || id === '') throw invalid('a CloudEvent needs an id');
  if (typeof source !== 'string' || source === '') throw invalid('a CloudEvent needs a source');
  if (!isObject(data)) throw invalid('the CloudEvent data must be a JSON object of parameter values');
  return { id: `${source}/${id}`, payload: data };
}
