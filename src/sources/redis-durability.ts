// Writes that must survive a failover. Redis replicates asynchronously: a
// write the primary acknowledged can be missing on the replica that Sentinel
// or Redis Cluster promotes when the primary dies. For two of kjd's writes
// that loss breaks exactly-once (docs/redis.md):
// - a result: kjd deletes the Job's in-flight record (or removes its
//   finalizer) once the result is written; a result lost after that is lost
//   for good, and so is the request's tombstone; and that record, the item's
//   only copy between its ack and its result;
// - a take that gave an id-less list item its request id: lost, the item is
//   taken again under a new id, and a second Job is made.
// With `waitForReplicas`, each of these is followed by WAIT on the same
// connection, and counts as done only when enough replicas have it.
import { KjdError, type ErrorCategory } from '../errors.ts';
import type { RedisClient } from './redis-connection.ts';

export interface ReplicaWait {
  /** Replicas that must have the write (WAIT numreplicas). */
  readonly replicas: number;
  /** How long to wait for them before the write counts as not durable (WAIT timeout). */
  readonly timeoutMs: number;
}

/** Fewer replicas than asked for confirmed a write in time: retry it later. */
export class ReplicasBehindError extends KjdError {
  readonly code = 'REDIS_REPLICAS_BEHIND';
  readonly category: ErrorCategory = 'retryable';
  constructor(what: string, confirmed: number, wanted: number) {
    super(`${what}: ${confirmed} of ${wanted} replicas confirmed the write in time; retrying`);
  }
}

/**
 * WAIT for `wait.replicas` replicas to have every write made so far on the
 * connection that serves `key`; throws ReplicasBehindError when fewer confirm
 * in time. WAIT has no key, so it is sent in a pipeline behind a read of
 * `key`: on Redis Cluster a pipeline goes to its keys' node, over the one
 * connection ioredis keeps to that node, which carried the write before it.
 */
export async function confirmReplicated(
  redis: RedisClient,
  key: string,
  wait: ReplicaWait,
  what: string,
): Promise<void> {
  const replies =
    (await redis.pipeline().exists(key).call('WAIT', wait.replicas, wait.timeoutMs).exec()) ?? [];
  for (const [err] of replies) if (err !== null) throw err;
  const confirmed = Number(replies[1]?.[1] ?? 0);
  if (confirmed < wait.replicas) throw new ReplicasBehindError(what, confirmed, wait.replicas);
}
