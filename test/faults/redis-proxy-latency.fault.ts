// TCP proxy kjd→Redis: latency for 20 s while items
// are in flight (list and stream routes). Bound: every item settled 60 s after the fault ends.
import { defineTcpScenario } from './lib/tcp-scenarios.ts';

defineTcpScenario({
  name: 'redis-proxy-latency',
  target: 'redis',
  toxic: { type: 'latency', latencyMs: 300, jitterMs: 150 },
  faultMs: 20_000,
  boundMs: 60_000,
  items: 100,
  afterJobs: 10,
});
