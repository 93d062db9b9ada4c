// TCP proxy kjd→API server: latency for 20 s while items
// are in flight (list and stream routes). Bound: every item settled 60 s after the fault ends.
import { defineTcpScenario } from './lib/tcp-scenarios.ts';

defineTcpScenario({
  name: 'api-proxy-latency',
  target: 'api',
  toxic: { type: 'latency', latencyMs: 400, jitterMs: 200 },
  faultMs: 20_000,
  boundMs: 60_000,
  items: 100,
  afterJobs: 10,
});
