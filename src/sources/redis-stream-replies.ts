// Reading the replies of the stream commands the source sends. ioredis types
// most of them loosely (`unknown[]`), and a connection made with
// `replyMapping: 'resp3'` turns some flat arrays into objects, so every reply
// is checked here once, for both shapes, instead of cast where it is used.
import { KjdError, type ErrorCategory } from '../errors.ts';

/** One stream entry; `fields` is null for an entry still pending but already deleted from the stream. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: readonly string[] | null;
}

export interface AutoClaimReply {
  /** Where the next XAUTOCLAIM continues; `0-0` once the whole PEL was scanned. */
  readonly cursor: string;
  readonly entries: readonly StreamEntry[];
}

export interface PendingRow {
  readonly consumer: string;
  readonly deliveries: number;
}

export interface GroupInfo {
  readonly name: string;
  /** Entries not yet delivered to the group; null when Redis cannot tell (entries deleted in that range). */
  readonly lag: number | null;
  readonly entriesRead: number | null;
}

/** Redis answered in a shape this source does not understand: an incompatible server or client setting. */
export class RedisStreamReplyError extends KjdError {
  readonly code = 'REDIS_REPLY_UNEXPECTED';
  readonly category: ErrorCategory = 'configuration';
  constructor(command: string, reply: unknown) {
    super(
      `${command}: unexpected reply ${preview(reply)}; kjd needs Redis ≥ 7.0 and an ioredis connection with string replies`,
    );
  }
}

/** Whether `err` is a Redis error reply with this code (the reply's first word, e.g. `NOGROUP`, `BUSYGROUP`). */
export function isRedisError(err: unknown, code: string): boolean {
  return err instanceof Error && err.message.startsWith(`${code} `);
}

/**
 * XREADGROUP of one stream: `[[stream, entries]]`, `{ stream: entries }`
 * (resp3 mapping), or null when nothing came. The stream's name is not
 * compared: with a `keyPrefix` connection Redis answers with the prefixed key.
 */
export function parseReadGroup(reply: unknown): StreamEntry[] {
  if (reply === null) return [];
  let entries: unknown;
  if (Array.isArray(reply)) {
    const only: unknown = reply[0];
    entries = Array.isArray(only) ? only[1] : only;
  } else if (typeof reply === 'object') {
    entries = Object.values(reply)[0];
  }
  return parseEntries('XREADGROUP', entries);
}

/** XAUTOCLAIM: `[cursor, entries, deletedIds]`. Deleted ids are left out: Redis already removed them from the PEL. */
export function parseAutoClaim(reply: unknown): AutoClaimReply {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string')
    throw new RedisStreamReplyError('XAUTOCLAIM', reply);
  return { cursor: reply[0], entries: parseEntries('XAUTOCLAIM', reply[1]) };
}

/** XPENDING key group start end count: `[[id, consumer, idleMs, deliveries]]`, empty when the entry is no longer pending. */
export function parsePendingRow(reply: unknown): PendingRow | undefined {
  if (!Array.isArray(reply)) throw new RedisStreamReplyError('XPENDING', reply);
  const row: unknown = reply[0];
  if (row === undefined) return undefined;
  if (!Array.isArray(row) || typeof row[1] !== 'string' || typeof row[3] !== 'number') {
    throw new RedisStreamReplyError('XPENDING', reply);
  }
  return { consumer: row[1], deliveries: row[3] };
}

/** XINFO GROUPS: a list of flat `[name, value, …]` arrays, or of objects (resp3 mapping). */
export function parseGroups(reply: unknown): GroupInfo[] {
  if (!Array.isArray(reply)) throw new RedisStreamReplyError('XINFO GROUPS', reply);
  return reply.map((raw: unknown) => {
    const fields = toRecord(raw);
    const name = fields?.['name'];
    if (fields === undefined || typeof name !== 'string')
      throw new RedisStreamReplyError('XINFO GROUPS', reply);
    return { name, lag: numberOrNull(fields['lag']), entriesRead: numberOrNull(fields['entries-read']) };
  });
}

/** The value of `field` (its first occurrence), or, when the entry has no such field, all fields as a JSON object. */
/**
 * The field a redriven dead letter carries its original request id in
 * (deadletter/stream-place.ts): the stream source uses it instead of
 * `<stream>/<entry id>`, so the redriven item is the same request.
 */
export const REQUEST_ID_FIELD = 'kjd-request-id';

export function payloadOf(fields: readonly string[], field: string): string {
  const all: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    const value = fields[i + 1] ?? '';
    if (name === field) return value;
    all.push([name, value]);
  }
  return JSON.stringify(Object.fromEntries(all));
}

/** The ms part of an entry id (`<ms>-<seq>`): when Redis (or the producer, with an explicit id) stamped it. */
export function entryTimeMs(id: string): number | undefined {
  const ms = Number(id.slice(0, id.indexOf('-')));
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

function parseEntries(command: string, raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) throw new RedisStreamReplyError(command, raw);
  return raw.map((e: unknown) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string') throw new RedisStreamReplyError(command, e);
    const fields: unknown = e[1];
    if (fields === null) return { id: e[0], fields: null };
    if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) {
      throw new RedisStreamReplyError(command, e);
    }
    return { id: e[0], fields };
  });
}

function toRecord(raw: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(raw)) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) record[String(raw[i])] = raw[i + 1];
    return record;
  }
  return typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined;
}

function numberOrNull(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function preview(reply: unknown): string {
  const text = reply === undefined ? 'nothing' : JSON.stringify(reply);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
