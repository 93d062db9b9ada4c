// What the HTTP API (/v1/routes, the dead-letter endpoints, the dashboard)
// sees of each configured route: its counts and, for a queue route, its
// dead-letter place with what redriving needs.
import { layoutFor, type RedisClient } from '../sources/redis-connection.ts';
import type { ServeConfig } from '../config/serve-config.ts';
import { deadLetterPlaceFor, RouteDeadLetters } from '../deadletter/index.ts';
import type { Route } from '../dispatch/dispatcher.ts';
import type { JobOperations } from '../kube/jobs.ts';
import type { RouteView } from '../server/dead-letters-api.ts';
import type { RedisResults } from '../tracking/results.ts';

export interface RouteViewDeps {
  readonly redis: RedisClient;
  readonly results: RedisResults;
  readonly jobs: JobOperations;
  readonly inFlight: (route: string) => number;
}

/** One view per route, in the config's order (`routes` was built from `config.routes`). */
export function routeViews(config: ServeConfig, routes: readonly Route[], d: RouteViewDeps): RouteView[] {
  return routes.map((route, i) => {
    const rc = config.routes[i];
    const place = rc === undefined ? undefined : deadLetterPlaceFor(rc, d.redis, layoutFor(config.redis));
    const source = route.source;
    return {
      name: route.name,
      namespace: route.namespace,
      kind: rc?.source.type ?? 'http',
      inFlight: () => d.inFlight(route.name),
      ...(source !== undefined ? { depth: () => source.depth() } : {}),
      ...(place !== undefined
        ? {
            deadLetters: new RouteDeadLetters({
              route: {
                name: route.name,
                namespace: route.namespace,
                templateName: route.template.name,
                ...(route.idScope !== undefined ? { idScope: route.idScope } : {}),
              },
              place,
              results: d.results,
              jobs: d.jobs,
            }),
          }
        : {}),
    };
  });
}
