// TCP proxy kjd→Redis, half-open (no data, no FIN): the connections it hits
// stay half-open; after 20 s new connections go straight to Redis and work.
// kjd must notice its silent Redis connections (a command timeout) and
// reconnect. Bound: every item settled 60 s after new connections work.
import { defineTcpScenario } from './lib/tcp-scenarios.ts';

defineTcpScenario({
  name: 'redis-proxy-half-open',
  target: 'redis',
  toxic: { type: 'half_open' },
  faultMs: 20_000,
  boundMs: 60_000,
  items: 100,
  afterJobs: 10,
  stayDead: true,
});
