// The dead-letter place a configured route's source writes to, with the same
// defaults as the source (redis-list.ts, redis-stream-options.ts).
import type { Redis } from 'ioredis';
import type { RouteConfig } from '../config/serve-config.ts';
import { ListDeadLetters } from './list-place.ts';
import type { DeadLetterPlace } from './place.ts';
import { StreamDeadLetters } from './stream-place.ts';

/** Undefined for HTTP routes: their refusals are answered to the caller, never dead-lettered. */
export function deadLetterPlaceFor(route: RouteConfig, redis: Redis): DeadLetterPlace | undefined {
  const s = route.source;
  if (s.type === 'redis-list')
    return new ListDeadLetters({
      redis,
      queueKey: s.key,
      ...(s.deadLetterKey !== undefined ? { deadLetterKey: s.deadLetterKey } : {}),
    });
  if (s.type === 'redis-stream')
    return new StreamDeadLetters({
      redis,
      stream: s.stream,
      ...(s.deadLetterStream !== undefined ? { deadLetterStream: s.deadLetterStream } : {}),
    });
  return undefined;
}
