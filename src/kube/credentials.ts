// How kjd proves who it is on each request. A ServiceAccount token file is
// re-read as soon as the kubelet rotates it (mtime check, at most once a
// second) and again after a 401, so a rotated token is used at once, unlike
// client-node's fixed 60 s cache.
import { readFileSync, statSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';

/** A credential kjd was told to use cannot be read. */
export class CredentialsError extends KjdError {
  readonly code = 'KUBE_CREDENTIALS';
  readonly category: ErrorCategory = 'configuration';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
  }
}

export interface Credentials {
  /** For error messages: which credential was used, never its secret. */
  readonly description: string;
  /** The Authorization header value, or undefined (client certificate only). */
  authorization(): Promise<string | undefined>;
  /** After a 401: reload what can change. True when retrying may now succeed. */
  refresh(): Promise<boolean>;
}

export const noCredentials = (description: string): Credentials => ({
  description,
  authorization: () => Promise.resolve(undefined),
  refresh: () => Promise.resolve(false),
});

export function staticToken(token: string, description: string): Credentials {
  const header = `Bearer ${token}`;
  return { description, authorization: () => Promise.resolve(header), refresh: () => Promise.resolve(false) };
}

export class TokenFileCredentials implements Credentials {
  readonly description: string;
  readonly #path: string;
  readonly #recheckMs: number;
  readonly #now: () => number;
  #token = '';
  #mtimeMs = -1;
  #checkedAt = -Infinity;

  constructor(path: string, options: { recheckMs?: number; now?: () => number } = {}) {
    this.#path = path;
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.description = `token file ${path}`;
  }

  authorization(): Promise<string | undefined> {
    const now = this.#now();
    if (now - this.#checkedAt >= this.#recheckMs) {
      // One stat a second at most; a rotated file is read at once.
      const mtimeMs = this.#stat();
      if (mtimeMs !== this.#mtimeMs) this.#read(mtimeMs);
      this.#checkedAt = now;
    }
    return Promise.resolve(`Bearer ${this.#token}`);
  }

  refresh(): Promise<boolean> {
    const before = this.#token;
    this.#read(this.#stat());
    this.#checkedAt = this.#now();
    return Promise.resolve(this.#token !== before);
  }

  #stat(): number {
    try {
      return statSync(this.#path).mtimeMs;
    } catch (err) {
      throw new CredentialsError(`cannot read the token file ${this.#path}: ${(err as Error).message}`, err);
    }
  }

  #read(mtimeMs: number): void {
    let token: string;
    try {
      token = readFileSync(this.#path, 'utf8').trim();
    } catch (err) {
      throw new CredentialsError(`cannot read the token file ${this.#path}: ${(err as Error).message}`, err);
    }
    // Never send "Bearer " with nothing: the API server would treat it as anonymous.
    if (token === '') throw new CredentialsError(`the token file ${this.#path} is empty`);
    this.#token = token;
    this.#mtimeMs = mtimeMs;
  }
}

/**
 * Exec plugins and auth providers (cloud logins): client-node knows them, so
 * it computes the header; single-flight keeps N concurrent cold requests from
 * spawning the plugin N times.
 */
export class KubeConfigCredentials implements Credentials {
  readonly description: string;
  readonly #kc: KubeConfig;
  #inflight: Promise<string | undefined> | undefined;

  constructor(kc: KubeConfig, description: string) {
    this.#kc = kc;
    this.description = description;
  }

  authorization(): Promise<string | undefined> {
    this.#inflight ??= this.#compute().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  refresh(): Promise<boolean> {
    return Promise.resolve(false);
  }

  async #compute(): Promise<string | undefined> {
    const opts: { headers?: Record<string, unknown> } = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const header = opts.headers?.Authorization ?? opts.headers?.authorization;
    return typeof header === 'string' ? header : undefined;
  }
}
