// A queue route's dead-letter place and what can be done with it.
export type { DeadLetterEntry, DeadLetterPage, DeadLetterPlace } from './place.ts';
export { ListDeadLetters } from './list-place.ts';
export { StreamDeadLetters } from './stream-place.ts';
export { MAX_REDRIVE_ALL, RouteDeadLetters } from './route-dead-letters.ts';
export type { DeadLetterRoute, RedriveOutcome } from './route-dead-letters.ts';
export { deadLetterPlaceFor } from './place-for.ts';
export { routeDeadLettersFromConfig, RouteNotFoundError } from './from-config.ts';
