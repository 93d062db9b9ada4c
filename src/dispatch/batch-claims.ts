// Exactly-once per item in batch mode. A Job of one item is made at most once
// because its name comes from the request id: a second create is a 409. A
// batch Job's name comes from the set of its items, and after a crash the
// same items may come back in other company, so the name alone cannot guard
// them. Before a batch Job is created, each of its items is claimed for it in
// Redis, all or none in one script, with the batch's items beside the claims.
// An item that comes back already claimed leads to that same Job (made again
// from the stored items if the crash came before the create: the 409 then
// says it exists), never to a second one.
//
// Claims and the stored items are deleted once every item has its result;
// from then on the results (the tombstones) refuse a second Job, as for a Job
// of one item. Their TTL, the results' TTL, is only the backstop.
import type { RedisClient } from '../sources/redis-connection.ts';
import { batchKeys, type BatchKeys, type KeyLayout } from '../sources/redis-keys.ts';

/** One item of a batch as stored: enough to render it again. */
export interface StoredItem {
  readonly requestId: string;
  readonly payload: string;
}

export interface BatchClaimsOptions {
  readonly redis: RedisClient;
  readonly layout: KeyLayout;
  /** Default `kjd:batch:`. */
  readonly prefix?: string;
  readonly ttlSeconds: number;
}

// KEYS[1] manifest, KEYS[2..] claims; ARGV[1] job name, ARGV[2] ttl, ARGV[3] manifest JSON.
// Returns {} when every claim was free and is now this Job's, else the
// index (1-based among the claims) and owner of each that was taken.
const CLAIM = `
local taken = {}
for i = 2, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then taken[#taken + 1] = i - 1; taken[#taken + 1] = owner end
end
if #taken > 0 then return taken end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', tonumber(ARGV[2])) end
redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[2]))
return taken`;

// KEYS[1] manifest, KEYS[2..] claims; ARGV[1] job name. Deletes only what is still this Job's.
const FORGET = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[1])
return 1`;

export class BatchClaims {
  readonly #o: BatchClaimsOptions;
  readonly #prefix: string;

  constructor(options: BatchClaimsOptions) {
    this.#o = options;
    this.#prefix = options.prefix ?? 'kjd:batch:';
  }

  #keys(idScope: string | undefined): BatchKeys {
    return batchKeys(this.#o.layout, this.#prefix, idScope);
  }

  /** The batch Job each request id is claimed for (undefined: free), in the order asked. */
  async owners(idScope: string | undefined, requestIds: readonly string[]): Promise<(string | undefined)[]> {
    if (requestIds.length === 0) return [];
    const k = this.#keys(idScope);
    const owners = await this.#o.redis.mget(...requestIds.map((id) => k.claim(id)));
    return owners.map((o) => o ?? undefined);
  }

  /**
   * Claims every item for `jobName` and stores them, or none: the map holds
   * the items that were claimed meanwhile for another Job (empty: all are ours).
   */
  async claim(
    idScope: string | undefined,
    jobName: string,
    items: readonly StoredItem[],
  ): Promise<Map<string, string>> {
    const k = this.#keys(idScope);
    const reply = (await this.#o.redis.eval(
      CLAIM,
      items.length + 1,
      k.manifest(jobName),
      ...items.map((i) => k.claim(i.requestId)),
      jobName,
      this.#o.ttlSeconds,
      JSON.stringify(items),
    )) as (number | string)[];
    const taken = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const item = items[Number(reply[i]) - 1];
      if (item !== undefined) taken.set(item.requestId, String(reply[i + 1]));
    }
    return taken;
  }

  /** The items stored for a batch Job; undefined once its results are all written (or its TTL ran out). */
  async items(idScope: string | undefined, jobName: string): Promise<StoredItem[] | undefined> {
    const raw = await this.#o.redis.get(this.#keys(idScope).manifest(jobName));
    if (raw === null) return undefined;
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as StoredItem[]) : undefined;
  }

  /** Every item has its result (or the batch was refused): the claims have done their work. */
  async forget(idScope: string | undefined, jobName: string, requestIds: readonly string[]): Promise<void> {
    const k = this.#keys(idScope);
    await this.#o.redis.eval(
      FORGET,
      requestIds.length + 1,
      k.manifest(jobName),
      ...requestIds.map((id) => k.claim(id)),
      jobName,
    );
  }
}
