// A bounded cache of recent decisions with a time to live, least recently
// used out first when full, and single-flight loads: concurrent misses for
// one key share one load. Made for auth decisions: a flood of distinct keys
// evicts old entries one at a time instead of clearing the whole cache, and
// a flood of one key costs one load.
export interface TtlCacheOptions {
  readonly maxEntries: number;
  readonly now?: () => number;
}

export class TtlCache<V> {
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #loading = new Map<string, Promise<V>>();

  constructor(options: TtlCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1)
      throw new TypeError('maxEntries: a positive integer');
    this.#max = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.until <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    // Map order is insertion order: re-inserting makes it the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until: this.#now() + ttlMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Whether `key` is being loaded now (a caller may refuse to start a second kind of work). */
  loading(key: string): boolean {
    return this.#loading.has(key);
  }

  /**
   * The cached value, or the result of `load` (shared by every caller asking
   * for `key` while it runs), cached for the ttl `load` returns.
   */
  async getOrLoad(key: string, load: () => Promise<{ value: V; ttlMs: number }>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    let pending = this.#loading.get(key);
    if (pending === undefined) {
      pending = load().then(({ value, ttlMs }) => {
        this.set(key, value, ttlMs);
        return value;
      });
      const settled = pending.finally(() => this.#loading.delete(key));
      settled.catch(() => undefined);
      this.#loading.set(key, pending);
    }
    return pending;
  }
}
