// TCP proxy kjd→Redis: half-open for 20 s while items
// are in flight (list and stream routes). Bound: every item settled 60 s after the fault ends.
import { defineTcpScenario } from './lib/tcp-scenarios.ts';

defineTcpScenario({
  name: 'redis-proxy-half-open',
  target: 'redis',
  toxic: { type: 'half_open' },
  faultMs: 20_000,
  boundMs: 60_000,
  items: 100,
  afterJobs: 10,
});
