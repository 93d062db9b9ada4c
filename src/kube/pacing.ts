// Adaptive pacing: how many requests kjd keeps in flight to the API server,
// found from the server's own answers instead of a fixed QPS (issue 16).
//
// Why a concurrency limit and not a rate: API Priority and Fairness admits
// requests by seats (concurrency), and a rate that suits a 5 ms create is
// wrong for a 50 ms one. Why AIMD with a latency signal (TCP Vegas style, as
// Netflix's concurrency-limits' Gradient2 does): the API server's latency
// rises before it rejects anything, so backing off when latency climbs keeps
// kjd off APF's queues, and the additive increase finds the knee again when
// the server has room. 429s halve the limit (once per round trip, so a burst
// of rejections is one signal, not fifty).
//
// The latency signal is a gradient, not a level: a short average (about the
// last 10 answers) against a long one (about the last 100). A busy API server
// answers a create in 5 ms alone and in 400 ms with 128 in flight while its
// throughput still grows with concurrency (measured on the local control
// plane); a rule against the idle floor (Vegas' base RTT) held kjd at 0.4x of
// what a fixed 128 reached. So kjd backs off when latency *rises* (short >
// tolerance x long), which is what the onset of overload looks like, and a
// steady high latency at saturation is not a signal by itself.
//
// The ceiling (maxLimit) is not the connection pool: kjd serve passes
// kubernetes.maxInFlight, 32 by default. A busy API server divides its CPU by
// requests in flight whoever sends them, and no client-side signal tells
// kjd's own queueing from a neighbour's, so the ceiling is what keeps kjd an
// equal neighbour on a shared server (bench/tenant-notes.md).
//
// Slow start: the limit doubles each round trip until the first signal, so a
// fresh kjd reaches a big server's capacity in a few dozen milliseconds.

export interface PacingOptions {
  /** Requests in flight at start. Default 16. */
  readonly initialLimit?: number;
  /** Never below this. Default 4. */
  readonly minLimit?: number;
  /** Never above this (the connection pool bounds it too). Default 256. */
  readonly maxLimit?: number;
  /** Back off when the short latency average exceeds this multiple of the long one. Default 2. */
  readonly latencyTolerance?: number;
}

export interface PacingSample {
  readonly status: number;
  readonly durationMs: number;
  /** What acquire() returned for this request: the requests in flight when it was sent. */
  readonly inFlightAtSend: number;
}

export class AdaptiveLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #tolerance: number;
  readonly #now: () => number;
  #limit: number;
  #inFlight = 0;
  readonly #waiters: (() => void)[] = [];
  #slowStart = true;
  /** Exponential averages of the answers' latency: ~10 and ~100 answers. */
  #shortRtt = 0;
  #longRtt = 0;
  #samples = 0;
  #lastDecrease = Number.NEGATIVE_INFINITY;
  #throttled = 0;

  constructor(o: PacingOptions = {}, now: () => number = () => performance.now()) {
    this.#min = o.minLimit ?? 4;
    this.#max = o.maxLimit ?? 256;
    this.#tolerance = o.latencyTolerance ?? 2;
    if (!(this.#min >= 1 && this.#max >= this.#min && this.#tolerance > 1))
      throw new RangeError('pacing needs 1 <= minLimit <= maxLimit and latencyTolerance > 1');
    this.#limit = Math.min(this.#max, Math.max(this.#min, o.initialLimit ?? 16));
    this.#now = now;
  }

  /** The current limit (whole requests). */
  get limit(): number {
    return Math.floor(this.#limit);
  }

  /** The ceiling the limit never passes. */
  get maxLimit(): number {
    return this.#max;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** 429s seen since start. */
  get throttled(): number {
    return this.#throttled;
  }

  /**
   * Waits for a slot and returns the requests in flight with this one; call
   * release() exactly once when the answer is in (or the request failed).
   */
  async acquire(signal?: AbortSignal): Promise<number> {
    if (this.#inFlight < this.limit && this.#waiters.length === 0) return ++this.#inFlight;
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#inFlight++;
        resolve();
      };
      const onAbort = () => {
        const at = this.#waiters.indexOf(wake);
        if (at !== -1) this.#waiters.splice(at, 1);
        reject(signal?.reason as Error);
      };
      this.#waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.#inFlight;
  }

  /** Gives the slot back; a sample (the answer's status and latency) moves the limit. */
  release(sample?: PacingSample): void {
    this.#inFlight--;
    if (sample !== undefined) this.#observe(sample);
    while (this.#waiters.length > 0 && this.#inFlight < this.limit) this.#waiters.shift()?.();
  }

  #observe(s: PacingSample): void {
    const now = this.#now();
    if (s.status === 429) {
      this.#throttled++;
      this.#decrease(now, 0.5);
      return;
    }
    if (s.status === 0 || s.status >= 500) return; // not a signal about load we can read
    this.#samples++;
    if (this.#samples === 1) this.#shortRtt = this.#longRtt = s.durationMs;
    this.#shortRtt += (s.durationMs - this.#shortRtt) / 10;
    this.#longRtt += (s.durationMs - this.#longRtt) / 100;
    // Past a warm-up, latency climbing faster than its own recent level: back off a little.
    if (this.#samples > 20 && this.#shortRtt > this.#longRtt * this.#tolerance) {
      this.#decrease(now, 0.9);
      return;
    }
    // Grow only when the limit is what holds requests back (the request went
    // out with at least half the limit in flight): an idle kjd sending 3
    // requests must not drift up to a limit it never tested.
    if (s.inFlightAtSend * 2 < this.#limit) return;
    // Past slow start, about sqrt(limit) more per round trip (one answer
    // adds sqrt(limit)/limit): +1 per round trip, TCP's step, took tens of
    // seconds to climb from where a queueing API server (APF) ended slow
    // start to where its throughput stops growing.
    const step = this.#slowStart ? 1 : Math.sqrt(this.#limit) / this.#limit;
    this.#limit = Math.min(this.#max, this.#limit + step);
  }

  #decrease(now: number, factor: number): void {
    this.#slowStart = false;
    // One decrease per round trip: the answers to requests sent before the
    // last decrease say nothing about the new limit.
    const rtt = this.#samples > 0 ? this.#shortRtt : 100;
    if (now - this.#lastDecrease < rtt) return;
    this.#lastDecrease = now;
    this.#limit = Math.max(this.#min, this.#limit * factor);
  }
}
