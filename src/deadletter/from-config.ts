// One route's dead letters, from `kjd serve`'s configuration alone: what
// `kjd dlq` works on, with the same keys, namespace and id scope the running
// service uses (so a CLI redrive is the same redrive as the dashboard's).
import { layoutFor, type RedisClient } from '../sources/redis-connection.ts';
import type { ServeConfig } from '../config/serve-config.ts';
import { KjdError, type ErrorCategory } from '../errors.ts';
import type { JobOperations } from '../kube/jobs.ts';
import { loadTemplate } from '../template/index.ts';
import { RedisResults } from '../tracking/results.ts';
import { deadLetterPlaceFor } from './place-for.ts';
import { RouteDeadLetters } from './route-dead-letters.ts';

export class RouteNotFoundError extends KjdError {
  readonly code = 'ROUTE_NOT_FOUND';
  readonly category: ErrorCategory = 'configuration';
}

export interface FromConfigDeps {
  readonly redis: RedisClient;
  readonly jobs: Pick<JobOperations, 'get'>;
  /** The connection's namespace: a route's last fallback, as in kjd serve. */
  readonly fallbackNamespace: string;
}

export async function routeDeadLettersFromConfig(
  config: ServeConfig,
  routeName: string,
  d: FromConfigDeps,
): Promise<RouteDeadLetters> {
  const rc = config.routes.find((r) => r.name === routeName);
  const queues = config.routes.filter((r) => r.source.type !== 'http').map((r) => r.name);
  const known = `queue routes: ${queues.join(', ') || 'none'}`;
  if (rc === undefined)
    throw new RouteNotFoundError(`no route "${routeName}" in the configuration (${known})`);
  const place = deadLetterPlaceFor(rc, d.redis, layoutFor(config.redis));
  if (place === undefined)
    throw new RouteNotFoundError(
      `route "${routeName}" takes items over HTTP and has no dead letters (${known})`,
    );
  const template = await loadTemplate(rc.template);
  return new RouteDeadLetters({
    route: {
      name: rc.name,
      namespace: rc.namespace ?? template.namespace ?? d.fallbackNamespace,
      templateName: template.name,
      idScope: rc.idScope ?? rc.name,
    },
    place,
    results: new RedisResults({ redis: d.redis, layout: layoutFor(config.redis), ...config.results }),
    jobs: d.jobs,
  });
}
