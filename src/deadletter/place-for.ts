// The dead-letter place a configured route's source writes to, with the same
// defaults as the source (redis-list.ts, redis-stream-options.ts).
import type { RouteConfig } from '../config/serve-config.ts';
import type { RedisClient } from '../sources/redis-connection.ts';
import { listKeys, streamDeadLetterKey, type KeyLayout } from '../sources/redis-keys.ts';
import { ListDeadLetters } from './list-place.ts';
import type { DeadLetterPlace } from './place.ts';
import { StreamDeadLetters } from './stream-place.ts';

/** Undefined for HTTP routes: their refusals are answered to the caller, never dead-lettered. */
export function deadLetterPlaceFor(
  route: RouteConfig,
  redis: RedisClient,
  layout: KeyLayout,
): DeadLetterPlace | undefined {
  const s = route.source;
  if (s.type === 'redis-list')
    return new ListDeadLetters({
      redis,
      queueKey: s.key,
      deadLetterKey: listKeys(layout, s.key, s.deadLetterKey).deadLetter,
    });
  if (s.type === 'redis-stream')
    return new StreamDeadLetters({
      redis,
      stream: s.stream,
      deadLetterStream: s.deadLetterStream ?? streamDeadLetterKey(layout, s.stream),
    });
  return undefined;
}
