// Fan-out of Job status changes to Server-Sent Events subscribers. A slow or
// failing subscriber cannot hold up the others or the tracker.
export interface JobEvent {
  readonly name: string;
  readonly namespace: string;
  readonly requestId?: string;
  /** The route's id scope (its name unless configured otherwise). */
  readonly route?: string;
  readonly createdAt?: string;
  readonly phase: string;
  readonly reason?: string;
  readonly active: number;
  readonly succeeded: number;
  readonly failed: number;
}

export class EventHub {
  readonly #listeners = new Set<(e: JobEvent) => void>();

  subscribe(listener: (e: JobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: JobEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        this.#listeners.delete(l);
      }
    }
  }

  get subscribers(): number {
    return this.#listeners.size;
  }
}
