// One WorkSource per queue route, each with its own blocking Redis connection;
// HTTP routes have none (their items come through the API).
import type { Logger } from 'pino';
import { connectRedis, layoutFor, type RedisClient, type RedisTarget } from '../sources/redis-connection.ts';
import type { RouteConfig } from '../config/serve-config.ts';
import type { ReplicaWait } from '../sources/redis-durability.ts';
import { RedisListSource } from '../sources/redis-list.ts';
import { RedisStreamSource } from '../sources/redis-stream.ts';
import type { WorkSource } from '../sources/source.ts';

export function buildSource(
  route: RouteConfig,
  redis: RedisClient,
  target: RedisTarget & { readonly waitForReplicas?: ReplicaWait | undefined },
  replicaId: string,
  log: Logger,
): { source: WorkSource; blocking: RedisClient } | undefined {
  const s = route.source;
  if (s.type === 'http') return undefined;
  const blocking = connectRedis(target, 'blocking');
  const layout = layoutFor(target);
  const { waitForReplicas } = target;
  if (s.type === 'redis-list') {
    const source = new RedisListSource({
      redis,
      blockingRedis: blocking,
      key: s.key,
      replicaId,
      heartbeatTtlMs: s.heartbeatTtlMs,
      layout,
      ...(waitForReplicas !== undefined ? { waitForReplicas } : {}),
      ...(s.deadLetterKey !== undefined ? { deadLetterKey: s.deadLetterKey } : {}),
    });
    return { source, blocking };
  }
  const source = new RedisStreamSource({
    redis,
    blockingRedis: blocking,
    stream: s.stream,
    group: s.group,
    startId: s.startId,
    consumer: replicaId,
    onGroupRecreated: (at) => {
      log.error(
        { stream: s.stream, group: s.group, at },
        'the consumer group was deleted while kjd read it; made again after the last entry kjd saw',
      );
    },
    claimIdleMs: s.claimIdleMs,
    layout,
    ...(s.deadLetterStream !== undefined ? { deadLetterStream: s.deadLetterStream } : {}),
  });
  return { source, blocking };
}
