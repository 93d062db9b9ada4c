// How the Redis list source stores an item it has taken, in its processing
// list: `kjd2\n<attempts>\n<generated id>\n<payload bytes>`, written by the
// take script itself (redis-list.ts), so the id exists from the moment the
// item moved. Read back here as bytes. kjd before 0.2 stored a JSON envelope
// (`{"kjd":1,"id":…,"payload":…,"attempts":…}`); such items, recovered from
// an old replica's processing list, are still read.

/** Producer ids are looked for only in items up to this size (bigger ones are dead-lettered unparsed anyway). */
export const DEFAULT_PRODUCER_ID_BYTES = 1024 * 1024;

export type Stored =
  | {
      readonly kind: 'item';
      readonly requestId: string;
      readonly payload: string;
      readonly attempts: number;
    }
  | {
      readonly kind: 'not-utf8';
      readonly requestId: string;
      readonly payload: Buffer;
      readonly attempts: number;
    };

const V2 = Buffer.from('kjd2\n');
const V1 = '{"kjd":1,';
const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseStored(element: Buffer, maxProducerIdBytes: number): Stored {
  if (element.subarray(0, V2.length).equals(V2)) return parseV2(element, maxProducerIdBytes);
  const text = decode(element);
  const v1 = text === undefined ? undefined : parseV1(text);
  if (v1 !== undefined) return v1;
  // Not written by the take script (cannot happen unless someone pushed into
  // the processing list by hand): an item whose id is its producer's, if any.
  if (text === undefined) return { kind: 'not-utf8', requestId: '', payload: element, attempts: 1 };
  return { kind: 'item', requestId: producerId(text, maxProducerIdBytes) ?? '', payload: text, attempts: 1 };
}

function parseV2(element: Buffer, maxProducerIdBytes: number): Stored {
  const first = element.indexOf(NEWLINE, V2.length);
  const second = first < 0 ? -1 : element.indexOf(NEWLINE, first + 1);
  if (second < 0) throw new TypeError('a kjd2 element without its header');
  const attempts = Number(element.subarray(V2.length, first).toString('latin1'));
  const generated = element.subarray(first + 1, second).toString('utf8');
  const bytes = element.subarray(second + 1);
  const payload = decode(bytes);
  if (payload === undefined) return { kind: 'not-utf8', requestId: generated, payload: bytes, attempts };
  return {
    kind: 'item',
    requestId: producerId(payload, maxProducerIdBytes) ?? generated,
    payload,
    attempts,
  };
}

function parseV1(text: string): Stored | undefined {
  if (!text.startsWith(V1)) return undefined;
  try {
    const e = JSON.parse(text) as { id?: unknown; payload?: unknown; attempts?: unknown };
    if (typeof e.id !== 'string' || typeof e.payload !== 'string' || typeof e.attempts !== 'number')
      return undefined;
    return { kind: 'item', requestId: e.id, payload: e.payload, attempts: e.attempts + 1 };
  } catch {
    return undefined;
  }
}

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The producer's own id: a string or integer `id` at the top of a JSON
 * object. Items over `maxBytes` are not parsed: one with a million keys
 * would cost hundreds of MB here, before the dispatcher's limits refuse it.
 */
export function producerId(raw: string, maxBytes: number): string | undefined {
  if (raw.length > maxBytes) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const id = (v as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
    if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  } catch {
    // not JSON (or nested past the parser's stack): the dispatcher dead-letters it; it keeps its generated id
  }
  return undefined;
}
