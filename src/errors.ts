// The base of every error kjd throws on purpose. Callers decide what to do
// from `category`, never from message text:
//   retryable      try again later (back off); the input is fine
//   permanent      this input can never succeed (dead-letter it, tell the user)
//   configuration  kjd itself is set up wrong (exit with the message)
//   capacity       the input and kjd are fine, the cluster has no room now
//                  (a full ResourceQuota): wait as long as it takes, never give up

export type ErrorCategory = 'retryable' | 'permanent' | 'configuration' | 'capacity';

export interface KjdErrorOptions {
  readonly cause?: unknown;
}

export abstract class KjdError extends Error {
  /** Stable identifier, e.g. `KUBE_FORBIDDEN`, `TEMPLATE_INVALID`. */
  abstract readonly code: string;
  abstract readonly category: ErrorCategory;

  constructor(message: string, options: KjdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** Extra lines a person needs to act (a Role rule to apply, a file position). */
  hint(): string | undefined {
    return undefined;
  }
}

export function isKjdError(err: unknown): err is KjdError {
  return err instanceof KjdError;
}
